import { ValidationError } from '../errors/classes.js'

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
}

/**
 * Parses a byte size: a number of bytes, or a string like "512MB", "1.5 GiB", "100k".
 * Decimal units (kB, MB, GB) are powers of 1000, binary ones (KiB, MiB, GiB) of 1024.
 */
export function parseBytes(value: number | string, field = 'memory'): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new ValidationError(`${field}: must be a non-negative number of bytes`)
    return Math.round(value)
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value)
  const unit = match ? UNITS[(match[2] ?? '').toLowerCase()] : undefined
  if (!match || unit === undefined) throw new ValidationError(`${field}: "${value}" is not a size like "512MB" or "1GiB"`)
  return Math.round(Number(match[1]) * unit)
}

/** Formats bytes for people: 1536 → "1.5 KiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let i = 0
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024
    i++
  }
  return `${i === 0 ? value : value.toFixed(1)} ${units[i]}`
}
