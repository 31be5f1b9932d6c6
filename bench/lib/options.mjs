/**
 * The options each scenario gets, per broker group. The harness owns them so that every
 * system of a group does the same work.
 */

/** @type {Record<'memory' | 'redis' | 'postgres', Record<string, Record<string, number>>>} */
export const GROUP_OPTIONS = {
  memory: {
    drain: { tasks: 100_000, concurrency: 32 },
    latency: { roundTrips: 1000 },
    backlog: { fresh: 2000, waiting: 100_000 },
    memory: { tasks: 100_000 },
    shell: { commands: 1000, cpus: 2 },
  },
  redis: {
    drain: { tasks: 10_000, concurrency: 32 },
    latency: { roundTrips: 300 },
    backlog: { fresh: 2000, waiting: 100_000 },
    memory: { tasks: 10_000 },
    shell: { commands: 1000, cpus: 2 },
  },
  postgres: {
    drain: { tasks: 10_000, concurrency: 32 },
    latency: { roundTrips: 300 },
    backlog: { fresh: 2000, waiting: 100_000 },
    memory: { tasks: 10_000 },
    shell: { commands: 1000, cpus: 2 },
  },
}

/** The server each networked group needs, probed before its systems run. */
export const GROUP_SERVERS = {
  redis: { host: '127.0.0.1', port: 6379 },
  postgres: { host: '127.0.0.1', port: 5432 },
}
