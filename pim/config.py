"""Default settings; every one can be overridden by a `PIM_`-prefixed environment variable."""

# SQLite in the instance folder unless a URL is given (postgresql://user@host/db).
DATABASE_URL = None
# Milliseconds a SQLite writer waits for another writer before giving up.
SQLITE_BUSY_TIMEOUT = 30000
# Application log level.
LOG_LEVEL = "INFO"
# Locale of labels in the web pages when it is active on a channel.
DEFAULT_LOCALE = "en_US"
