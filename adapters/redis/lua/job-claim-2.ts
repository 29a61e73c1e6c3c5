import { luaScript } from '../script.js';
import { JOB_CLAIM_LIB } from './job-claim-lib.js';
import { JOB_LIB } from './job-lib.js';

/**
 * Take up to `limit` due jobs of the given names under one lease token. Due delayed/partial jobs
 * are promoted first, so a serverless tick needs no background process. The due sets of several
 * names are merged in (priority, runAt, insertion) order; jobs whose timeout exceeds the caller's
 * budget are skipped and stay due. Limits per name and group lanes apply (./job-claim-lib.ts).
 *
 * KEYS[1] later set `{<prefix>}d`; KEYS[2] active set `{<prefix>}a`
 * ARGV[1] key base; ARGV[2] now; ARGV[3] limit; ARGV[4] maxTimeoutMs; ARGV[5] token;
 * ARGV[6] leaseMs; ARGV[7] groupConcurrency or ''; ARGV[8..] job names
 *
 * Returns `{ heldBack (1|0), retryAt or '', row... }` (rows: see JOB_ROW_FIELDS).
 */
export const jobClaim = luaScript('job-claim', 2, `${JOB_LIB}${JOB_CLAIM_LIB}
local now = tonumber(ARGV[2])
local names = {}
for i = 8, #ARGV do names[#names + 1] = ARGV[i] end
local out, held, retryAt = claimJobs(names, tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], now + tonumber(ARGV[6]), now, false,
  tonumber(ARGV[7]))
table.insert(out, 1, retryAt or '')
table.insert(out, 1, held and 1 or 0)
return out
`);
