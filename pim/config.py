"""Default settings; every one can be overridden by a `PIM_`-prefixed environment variable."""

# SQLite in the instance folder unless a URL is given (postgresql://user@host/db).
DATABASE_URL = None
# Milliseconds a SQLite writer waits for another writer before giving up.
SQLITE_BUSY_TIMEOUT = 30000
# Products written per database round trip by the batch upsert.
BATCH_SIZE = 1000
# Largest media file accepted, in bytes.
MAX_MEDIA_SIZE = 50 * 1024 * 1024
# Application log level.
LOG_LEVEL = "INFO"
