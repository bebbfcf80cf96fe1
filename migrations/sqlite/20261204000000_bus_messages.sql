-- The bus between processes sharing one database when there is no Redis: `socle` commands and
-- several `socle serve` on one machine see each other's cache invalidations (a tenant suspended
-- from the command line stops answering at once). Rows are hints, kept an hour.
CREATE TABLE bus_messages (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    node     TEXT NOT NULL,
    topic    TEXT NOT NULL,
    payload  TEXT NOT NULL,
    at       INTEGER NOT NULL
);
CREATE INDEX bus_messages_at ON bus_messages (at);
