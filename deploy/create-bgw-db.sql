-- The BGW application database next to Dagster's own (docker-compose.yml).
CREATE DATABASE bgw;
