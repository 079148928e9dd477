// The pod's /metrics, /healthz and /readyz (host keys and users loaded, S3 reachable, not shutting down): the shared
// health server, whose readiness results are cached for a second so a burst of probes never becomes a burst of S3 calls.
export { HealthServer, type HealthServerOptions, type ReadinessCheck } from '../../../common/src/http/health-server.ts';
