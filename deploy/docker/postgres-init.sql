-- Databases and roles of the Patron compose stack. The postgres image runs this file once,
-- when its data volume is first initialised, as the superuser `patron`.
--
-- Each service owns one database. Migrations connect as `patron` (the owner); services
-- and relays connect as `patron_app`, which owns nothing and is neither a superuser nor
-- exempt from row-level security, so tenant isolation applies to them.
-- Mirrors `deploy/local/postgres/postgres.sh create-dbs`.

\set ON_ERROR_STOP on

CREATE ROLE patron_app WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS
    PASSWORD 'patron_app';

CREATE DATABASE patron_profile OWNER patron ENCODING 'UTF8' TEMPLATE template0;
\connect patron_profile
GRANT CONNECT, TEMPORARY ON DATABASE patron_profile TO patron_app;
GRANT USAGE ON SCHEMA public TO patron_app;
ALTER DEFAULT PRIVILEGES FOR ROLE patron IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO patron_app;
ALTER DEFAULT PRIVILEGES FOR ROLE patron IN SCHEMA public
    GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO patron_app;
ALTER DEFAULT PRIVILEGES FOR ROLE patron IN SCHEMA public
    GRANT EXECUTE ON FUNCTIONS TO patron_app;
\connect postgres

CREATE DATABASE patron_identity OWNER patron ENCODING 'UTF8' TEMPLATE template0;
\connect patron_identity
GRANT CONNECT, TEMPORARY ON DATABASE patron_identity TO patron_app;
GRANT USAGE ON SCHEMA public TO patron_app;
ALTER DEFAULT PRIVILEGES FOR ROLE patron IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO patron_app;
ALTER DEFAULT PRIVILEGES FOR ROLE patron IN SCHEMA public
    GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO patron_app;
ALTER DEFAULT PRIVILEGES FOR ROLE patron IN SCHEMA public
    GRANT EXECUTE ON FUNCTIONS TO patron_app;
\connect postgres

CREATE DATABASE patron_segmentation OWNER patron ENCODING 'UTF8' TEMPLATE template0;
\connect patron_segmentation
GRANT CONNECT, TEMPORARY ON DATABASE patron_segmentation TO patron_app;
GRANT USAGE ON SCHEMA public TO patron_app;
ALTER DEFAULT PRIVILEGES FOR ROLE patron IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO patron_app;
ALTER DEFAULT PRIVILEGES FOR ROLE patron IN SCHEMA public
    GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO patron_app;
ALTER DEFAULT PRIVILEGES FOR ROLE patron IN SCHEMA public
    GRANT EXECUTE ON FUNCTIONS TO patron_app;
\connect postgres

CREATE DATABASE patron_loyalty OWNER patron ENCODING 'UTF8' TEMPLATE template0;
\connect patron_loyalty
GRANT CONNECT, TEMPORARY ON DATABASE patron_loyalty TO patron_app;
GRANT USAGE ON SCHEMA public TO patron_app;
ALTER DEFAULT PRIVILEGES FOR ROLE patron IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO patron_app;
ALTER DEFAULT PRIVILEGES FOR ROLE patron IN SCHEMA public
    GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO patron_app;
ALTER DEFAULT PRIVILEGES FOR ROLE patron IN SCHEMA public
    GRANT EXECUTE ON FUNCTIONS TO patron_app;
\connect postgres

CREATE DATABASE patron_notifications OWNER patron ENCODING 'UTF8' TEMPLATE template0;
\connect patron_notifications
GRANT CONNECT, TEMPORARY ON DATABASE patron_notifications TO patron_app;
GRANT USAGE ON SCHEMA public TO patron_app;
ALTER DEFAULT PRIVILEGES FOR ROLE patron IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO patron_app;
ALTER DEFAULT PRIVILEGES FOR ROLE patron IN SCHEMA public
    GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO patron_app;
ALTER DEFAULT PRIVILEGES FOR ROLE patron IN SCHEMA public
    GRANT EXECUTE ON FUNCTIONS TO patron_app;
\connect postgres
