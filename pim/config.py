"""Default settings; every one can be overridden by a `PIM_`-prefixed environment variable."""

# SQLite in the instance folder unless a URL is given (postgresql://user@host/db).
DATABASE_URL = None
# Milliseconds a SQLite writer waits for another writer before giving up.
SQLITE_BUSY_TIMEOUT = 30000
# Application log level.
# Level of log messages printed; `pim serve` and `pim worker` also show the application's INFO lines.
LOG_LEVEL = "WARNING"
# Locale of labels in the web pages when it is active on a channel.
DEFAULT_LOCALE = "en_US"

# Job queue: empty runs the queue in <instance>/queue.sqlite3; redis://host:6379/0 shares it between machines.
QUEUE_URL = ""
# Name of the queue, so several instances can share one Redis.
QUEUE_NAME = "pim"
# Longest pause, in seconds, between two looks at an idle SQLite queue.
QUEUE_POLL_SECONDS = 1.0
# Modules that register job types with @job_type; workers import them at start (comma-separated in PIM_JOB_MODULES).
JOB_MODULES: list[str] = []
# Seconds between two heartbeats of a worker and of the jobs it runs.
WORKER_HEARTBEAT_SECONDS = 10
# Seconds without a heartbeat after which a running job counts as interrupted and a worker as gone.
JOB_HEARTBEAT_TIMEOUT = 120
# Seconds a stopping worker waits for its running jobs to end.
WORKER_SHUTDOWN_TIMEOUT = 30
# Warnings kept on a job; the ones past this are only counted.
JOB_WARNINGS_KEPT = 1000
# Time zone of the cron expressions of schedules.
SCHEDULE_TIMEZONE = "UTC"
# Exports of more products than EXPORT_HELPER_AFTER resolve batches ahead in a second process
# (on a machine of two cores or more); false keeps every export in one process.
EXPORT_HELPER = True
EXPORT_HELPER_AFTER = 2000
# Address at which marketplaces and browsers reach this application (feed and image addresses).
PUBLIC_URL = "http://127.0.0.1:5000"
