// Locating promtool/prometheus (Debian package `prometheus`, installed by .ci/run). A missing
// binary fails the test with the install command: CI installs it, so nothing is skipped.
import { execFileSync } from 'node:child_process';

export function requireBinary(name: 'promtool' | 'prometheus'): string {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(`${name} not found on PATH: install Debian's prometheus package (sudo apt-get install -y prometheus; .ci/run does this)`);
  }
}
