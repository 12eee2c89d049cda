import { z } from 'zod';

/** Where archshift keeps its state: a lowdb file for one replica, or PostgreSQL for several. */
const postgresSchema = z
  .object({
    /** postgres://user@host:5432/db; default: $DATABASE_URL (keep the password in the Secret, not here). */
    url: z.string().min(1).optional(),
    /** TLS to the server: disable, require (encrypted, any certificate), verify-full (CA and host name checked). */
    sslMode: z.enum(['disable', 'require', 'verify-full']).default('disable'),
    /** PEM file of the CA that signed the server's certificate (verify-full). */
    sslRootCert: z.string().min(1).optional(),
    /** Connections per replica. */
    poolSize: z.number().int().min(1).max(100).default(10),
    /** A database that does not accept a connection this fast is "unavailable" (the command is refused). */
    connectTimeoutMs: z.number().int().min(100).default(5000),
    /** No single statement may take longer (a stuck lock fails the command instead of hanging it). */
    statementTimeoutMs: z.number().int().min(100).default(10000),
  })
  .strict()
  .prefault({});

export const storeConfigSchema = z
  .object({
    driver: z.enum(['lowdb', 'postgres']).default('lowdb'),
    /** lowdb: the JSON file (hot parts such as the registry cache go to files next to it). */
    file: z.string().min(1).default('./data/archshift.json'),
    postgres: postgresSchema,
  })
  .strict()
  .prefault({});

export type StoreConfig = z.infer<typeof storeConfigSchema>;
export type PostgresConfig = StoreConfig['postgres'];
