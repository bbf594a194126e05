/**
 * Test helpers for the MongoDB adapters: a fresh database per fixture on the shared server (FerretDB here, MongoDB
 * under testcontainers), dropped again in cleanup through one admin client per test file.
 */
import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { mongoUrl } from '../../test/support/infra.js';

let admin: Promise<MongoClient> | undefined;

/** A client of the test server for setting up and inspecting; closed by closeAdminClient(). */
export function adminClient(): Promise<MongoClient> {
  admin ??= mongoUrl().then((url) => new MongoClient(url, { serverSelectionTimeoutMS: 10_000 }).connect());
  return admin;
}

/** Closes the admin client (call it in afterAll). */
export async function closeAdminClient(): Promise<void> {
  const client = admin;
  admin = undefined;
  if (client) await (await client).close();
}

/** A database name nobody else uses. */
export function freshDatabase(): string {
  return `test_${randomUUID().replaceAll('-', '').slice(0, 20)}`;
}

/** Drops a database of the test server. */
export async function dropDatabase(name: string): Promise<void> {
  await (await adminClient()).db(name).dropDatabase();
}
