/**
 * @aque/core: types, Queue, Future, the broker contract and registry, patterns, the worker and
 * the codec. See docs/architecture.md for the map.
 */
export * from './errors/index.js'
export { encode, decode } from './codec/index.js'
export {
  TASK_STATUSES,
  COMPLETE_STATES,
  READY_STATES,
  UNREADY_STATES,
  FAILED_STATES,
  isComplete,
  type TaskStatus,
} from './task/states.js'
export { parseBytes, formatBytes } from './task/bytes.js'
export {
  taskSpecSchema,
  taskRecordSchema,
  TASK_FIELDS,
  type Task,
  type TaskField,
  type TaskRecord,
  type TaskSpec,
  type NewTask,
  type DependencyRef,
  type Progress,
  type Usage,
  type Expectation,
} from './task/record.js'
export { prototypeSchema, type TaskPrototype, type Dependency } from './task/prototype.js'
export { newRecord } from './task/new-record.js'
export * from './broker/contract.js'
export { BaseBroker, type Broker, type SearchOptions, type SlotOffer } from './broker/base-broker.js'
export { EventHub, type EventListener, type StatusEvent, type OutputEvent, type ProgressEvent, type SignalEvent } from './broker/events.js'
export { decodeRecord, parseRecord, type TaskWithProblems } from './broker/task-decoding.js'
export { CallBatcher, type CallBatcherOptions, type TakenBatch } from './broker/call-batcher.js'
export { dependencyFailedText } from './broker/dependency-error.js'
export { registerBroker, getBroker, redactUrl, brokerPackages, type BrokerFactory } from './broker/registry.js'
export * from './functions/index.js'
export { registerPattern, lookupPattern, type Pattern, type PatternContext } from './patterns/pattern.js'
export { Queue, type QueueOptions } from './queue/queue.js'
export { Future } from './queue/future.js'
export { wait, asCompleted, type ReturnWhen } from './queue/wait.js'
export type { WaitOptions } from './queue/completion.js'
export { execute } from './queue/execute.js'
export { Worker, type WorkerOptions } from './worker/worker.js'
export { currentTask, type CurrentTask } from './worker/current-task.js'
