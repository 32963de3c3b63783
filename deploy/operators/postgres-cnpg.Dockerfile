# CloudNativePG operand image with pg_partman (PostgreSQL 17 + pg_partman 5.x, as docs/data-tier.md#migrations-and-partitions expects).
# Base: the operand image CloudNativePG 1.25 uses by default. It derives from the official Debian postgres
# image (PG_MAJOR set, PGDG apt repository configured), so pg_partman comes from the distribution packages
# rather than a source build. Built by skaffold as payment-manager/postgres-cnpg.
ARG CNPG_IMAGE=ghcr.io/cloudnative-pg/postgresql:17.2
FROM ${CNPG_IMAGE}
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends "postgresql-${PG_MAJOR}-partman" \
 && rm -rf /var/lib/apt/lists/*
# CNPG runs the instance as UID 26 (postgres in its images).
USER 26
