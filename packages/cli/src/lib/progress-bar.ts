/**
 * Progress of a long wait over many tasks: a bar redrawn in place on a terminal, plain lines
 * (one per completed task) when the stream is piped or a file.
 */
export class ProgressReporter {
  private done = 0
  private failed = 0
  private lastDraw = 0
  private readonly tty: boolean
  private readonly started = Date.now()

  constructor(
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly label = 'tasks',
  ) {
    this.tty = Boolean(stream.isTTY)
    if (this.tty) this.draw(true)
  }

  /** One task completed with `status`. */
  complete(id: number, status: string): void {
    this.done++
    if (status !== 'success') this.failed++
    if (this.tty) this.draw(this.done === this.total)
    else this.stream.write(`${this.done}/${this.total} ${this.label} complete: task ${id} ${status}\n`)
  }

  private draw(force: boolean): void {
    const now = Date.now()
    if (!force && now - this.lastDraw < 100) return
    this.lastDraw = now
    const columns = this.stream.columns || 80
    const fraction = this.total === 0 ? 1 : this.done / this.total
    const text = ` ${this.done}/${this.total} ${this.label}${this.failed ? `, ${this.failed} failed` : ''}  ${Math.round((now - this.started) / 1000)}s`
    const width = Math.max(10, Math.min(40, columns - text.length - 3))
    const filled = Math.round(fraction * width)
    this.stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]${text}\x1b[K`)
  }

  /** Erases the bar so that other text can be written on the terminal; the next update redraws it. */
  clear(): void {
    if (this.tty) this.stream.write('\r\x1b[K')
  }

  /** Leaves the terminal on a fresh line. */
  end(): void {
    if (this.tty) {
      this.draw(true)
      this.stream.write('\n')
    }
  }
}
