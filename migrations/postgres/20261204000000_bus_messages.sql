-- The bus between processes sharing one database when there is no Redis: `socle` commands and
-- several `socle serve` see each other's cache invalidations (a tenant suspended from the command
-- line stops answering at once). Platform data: no tenant, no row-level security. Rows are
-- hints, kept an hour.
CREATE TABLE bus_messages (
    id       bigserial PRIMARY KEY,
    node     text NOT NULL,
    topic    text NOT NULL,
    payload  text NOT NULL,
    at       bigint NOT NULL
);
CREATE INDEX bus_messages_at ON bus_messages (at);
