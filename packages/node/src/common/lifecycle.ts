/**
 * Components that hold resources are `Startable`: started in dependency order by the
 * composition root and stopped in reverse. Both calls are idempotent.
 */
export interface Startable {
  start(): Promise<void>;
  stop(): Promise<void>;
}
