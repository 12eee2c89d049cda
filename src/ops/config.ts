import { z } from 'zod';

// Defaults are client-go's (15 s lease, 10 s renew deadline, 2 s retry): a dead leader is replaced
// within about one lease period plus one retry.
const leaderElectionSchema = z
  .object({
    /**
     * Elect one leader through a Kubernetes Lease for singleton work (digest schedule, canary ticker);
     * needs store.driver postgres. Off: this process is the leader (run one replica only).
     */
    enabled: z.boolean().default(false),
    /** Namespace of the Lease; default: $POD_NAMESPACE (the chart sets it), else `default`. */
    namespace: z.string().min(1).optional(),
    leaseName: z.string().min(1).default('archshift-leader'),
    /** kubeconfig context holding the Lease; default: the first configured cluster. */
    cluster: z.string().min(1).optional(),
    leaseDurationSeconds: z.number().positive().default(15),
    /** The leader steps down when it could not renew for this long (must be below the lease duration). */
    renewDeadlineSeconds: z.number().positive().default(10),
    retryPeriodSeconds: z.number().positive().default(2),
  })
  .strict()
  .refine((l) => l.renewDeadlineSeconds < l.leaseDurationSeconds, 'renewDeadlineSeconds must be less than leaseDurationSeconds')
  .refine((l) => l.retryPeriodSeconds < l.renewDeadlineSeconds, 'retryPeriodSeconds must be less than renewDeadlineSeconds');

/** The ops side of the bot: its HTTP port (/healthz, /readyz, /metrics), HA and shutdown. */
export const serverConfigSchema = z
  .object({
    port: z.number().int().min(0).max(65535).default(8080),
    /** Address the ops server binds; all interfaces so the kubelet and Prometheus reach it. */
    host: z.string().min(1).default('0.0.0.0'),
    leaderElection: leaderElectionSchema.prefault({}),
    /** On SIGTERM, how long in-flight commands may take before the process exits anyway. */
    shutdownTimeoutSeconds: z.number().positive().default(20),
    /** /readyz reuses a probe's answer this long, so kubelet probes do not hammer Slack or the API server. */
    probeCacheSeconds: z.number().min(0).default(10),
    /** Each readiness probe of an outside system gives up after this long. */
    probeTimeoutMs: z.number().int().min(100).default(3000),
  })
  .strict()
  .prefault({});

export type ServerConfig = z.infer<typeof serverConfigSchema>;
