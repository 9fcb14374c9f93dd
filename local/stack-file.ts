import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where a running `npm start` says how to reach its DynamoDB Local, so that
 * the operator's CLI (`npx qunfa accounts … --stage local`) can manage the
 * local accounts. Removed when `npm start` stops.
 */
export interface LocalStackFile {
  ddbEndpoint: string;
  region: string;
  stage: string;
  pid: number;
}

/** QUNFA_LOCAL_STACK_FILE moves it (the tests do, so as not to touch a developer's running stack). */
export const localStackFile = (): string => process.env.QUNFA_LOCAL_STACK_FILE ?? join(dirname(fileURLToPath(import.meta.url)), '..', '.qunfa', 'local.json');

export async function writeLocalStackFile(info: LocalStackFile, path = localStackFile()): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(info, null, 2)}\n`);
}

export async function removeLocalStackFile(path = localStackFile()): Promise<void> {
  await rm(path, { force: true });
}

/** The running local stack, or undefined when none is (a stale file from a killed run is ignored). */
export async function readLocalStackFile(path = localStackFile()): Promise<LocalStackFile | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (!text) return undefined;
  const info = JSON.parse(text) as LocalStackFile;
  try {
    process.kill(info.pid, 0);
    return info;
  } catch {
    return undefined;
  }
}
