-- recap's own role and database in the compose stack's store (docker-compose.yml, service
-- `postgres`). The postgres image runs this once, when its volume is first initialised, as
-- the superuser, with psql (16: `\getenv`).
--
-- recap connects as `recap`: it owns its database, so its migrations may create and alter
-- tables there, and nothing else. It is no superuser and may create neither roles nor
-- databases, so a leaked RECAP_DATABASE_URL reaches recap's data only, never the server.
-- Its password is STORE_DB_PASSWORD from the container's environment (from .env).

\set ON_ERROR_STOP on
\getenv recap_password STORE_DB_PASSWORD

\if :{?recap_password}
\else
  DO $$ BEGIN
    RAISE EXCEPTION 'STORE_DB_PASSWORD is not set: the postgres service needs it to create recap''s role';
  END $$;
\endif

CREATE ROLE recap LOGIN
  NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
  PASSWORD :'recap_password';

CREATE DATABASE recap OWNER recap;
-- Other roles on this server (there are none by default) may not even connect to it.
REVOKE ALL ON DATABASE recap FROM PUBLIC;
