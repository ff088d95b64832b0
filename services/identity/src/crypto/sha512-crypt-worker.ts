// Worker-thread entry for SHA-512 crypt: the rounds are plain CPU work with no async form in node:crypto.
import { parentPort, workerData } from 'node:worker_threads';
import { sha512CryptChecksum } from './sha512-crypt.js';

interface Job {
  password: Uint8Array;
  salt: string;
  rounds: number;
}

const job = workerData as Job;
parentPort?.postMessage(sha512CryptChecksum(Buffer.from(job.password), job.salt, job.rounds));
