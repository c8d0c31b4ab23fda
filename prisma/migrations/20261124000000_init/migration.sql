-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "Role" AS ENUM ('viewer', 'admin');

-- CreateTable
CREATE TABLE "collectors" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "token_hash" TEXT NOT NULL,
    "token_prefix" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revoked_at" TIMESTAMPTZ(6),
    "hostname" TEXT,
    "version" TEXT,
    "kernel" TEXT,
    "last_seen_at" TIMESTAMPTZ(6),
    "last_health" JSONB,
    "created_by_id" UUID,

    CONSTRAINT "collectors_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "collector_health" (
    "id" BIGSERIAL NOT NULL,
    "collector_id" UUID NOT NULL,
    "time" TIMESTAMPTZ(6) NOT NULL,
    "events_per_second" DOUBLE PRECISION NOT NULL,
    "lost_events" BIGINT NOT NULL,
    "unparsed_bytes" BIGINT NOT NULL,
    "parsed_bytes" BIGINT NOT NULL,
    "spool_bytes" BIGINT NOT NULL,
    "report" JSONB NOT NULL,

    CONSTRAINT "collector_health_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ingest_receipts" (
    "batch_id" UUID NOT NULL,
    "collector_id" UUID NOT NULL,
    "received_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "flows" INTEGER NOT NULL,
    "l7_events" INTEGER NOT NULL,
    "histograms" INTEGER NOT NULL,

    CONSTRAINT "ingest_receipts_pkey" PRIMARY KEY ("batch_id")
);

-- CreateTable
CREATE TABLE "services" (
    "id" BIGSERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "namespace" TEXT NOT NULL DEFAULT '',
    "kind" TEXT NOT NULL DEFAULT 'service',
    "first_seen" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_seen" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "services_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "users" (
    "id" UUID NOT NULL,
    "email" TEXT NOT NULL,
    "password_hash" TEXT NOT NULL,
    "role" "Role" NOT NULL DEFAULT 'viewer',
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "users_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sessions" (
    "id" UUID NOT NULL,
    "token_hash" TEXT NOT NULL,
    "user_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "sessions_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "collectors_name_key" ON "collectors"("name");

-- CreateIndex
CREATE UNIQUE INDEX "collectors_token_hash_key" ON "collectors"("token_hash");

-- CreateIndex
CREATE INDEX "collector_health_collector_id_time_idx" ON "collector_health"("collector_id", "time");

-- CreateIndex
CREATE INDEX "ingest_receipts_received_at_idx" ON "ingest_receipts"("received_at");

-- CreateIndex
CREATE UNIQUE INDEX "services_namespace_name_key" ON "services"("namespace", "name");

-- CreateIndex
CREATE UNIQUE INDEX "users_email_key" ON "users"("email");

-- CreateIndex
CREATE UNIQUE INDEX "sessions_token_hash_key" ON "sessions"("token_hash");

-- CreateIndex
CREATE INDEX "sessions_expires_at_idx" ON "sessions"("expires_at");

-- AddForeignKey
ALTER TABLE "collectors" ADD CONSTRAINT "collectors_created_by_id_fkey" FOREIGN KEY ("created_by_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "collector_health" ADD CONSTRAINT "collector_health_collector_id_fkey" FOREIGN KEY ("collector_id") REFERENCES "collectors"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ingest_receipts" ADD CONSTRAINT "ingest_receipts_collector_id_fkey" FOREIGN KEY ("collector_id") REFERENCES "collectors"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

