/**
 * Topic validation and pattern compilation, shared by the bus, the cache and the gateway so every
 * adapter and every browser sees the same matching semantics.
 *
 * @module
 */
import { SyncTopicError } from '../errors.js';

/** Longest topic or pattern accepted, in characters. */
export const MAX_TOPIC_LENGTH = 256;

const SEGMENT = /^[A-Za-z0-9_:-]+$/;
const TOPIC = /^\$?[A-Za-z0-9_:-]+(?:\.[A-Za-z0-9_:-]+)*$/;
const DOLLAR = 36;

/** True when `topic` is a valid concrete topic (system topics start with `$`). */
export function isValidTopic(topic: unknown): topic is string {
  return typeof topic === 'string' && topic.length <= MAX_TOPIC_LENGTH && TOPIC.test(topic);
}

/** Throw {@link SyncTopicError} unless `topic` is a valid concrete topic. */
export function assertTopic(topic: unknown): asserts topic is string {
  if (isValidTopic(topic)) return;
  const shown = typeof topic === 'string' ? topic : String(topic);
  if (typeof topic !== 'string') throw new SyncTopicError(shown, 'a topic must be a string');
  if (topic.length > MAX_TOPIC_LENGTH) throw new SyncTopicError(shown.slice(0, 40) + '…', `longer than ${MAX_TOPIC_LENGTH} characters`);
  if (topic.includes('*') || topic.includes('#')) throw new SyncTopicError(shown, 'wildcards belong in subscribe patterns, not in published topics');
  throw new SyncTopicError(shown, 'empty segment or character outside [A-Za-z0-9_:-]');
}

/** Tests whether a concrete topic matches a compiled pattern. */
export type TopicMatcher = (topic: string) => boolean;

/** A compiled pattern: `exact` is set when the pattern has no wildcard (fast path for the index). */
export interface CompiledPattern {
  /** The pattern as given. */
  readonly pattern: string;
  /** The topic itself when the pattern contains no wildcard. */
  readonly exact: string | undefined;
  /** The matcher (also correct for exact patterns). */
  readonly matches: TopicMatcher;
}

const everything: TopicMatcher = (topic) => topic.charCodeAt(0) !== DOLLAR;

/**
 * Validate and compile a subscription pattern. `*` matches one segment; a trailing `**` or `#`
 * matches one or more remaining segments; `'*'`, `'**'` and `'#'` alone match every topic except
 * system topics (`$…`), which only an exact pattern matches.
 *
 * @example
 * ```ts
 * compilePattern('buttons.*').matches('buttons.updated'); // true
 * compilePattern('users.**').matches('users.1.balance_updated'); // true
 * compilePattern('*').matches('$resync'); // false
 * ```
 */
export function compilePattern(pattern: string): CompiledPattern {
  if (typeof pattern !== 'string' || pattern.length === 0) throw new SyncTopicError(String(pattern), 'a pattern must be a non-empty string');
  if (pattern.length > MAX_TOPIC_LENGTH) throw new SyncTopicError(pattern.slice(0, 40) + '…', `longer than ${MAX_TOPIC_LENGTH} characters`);
  if (pattern === '*' || pattern === '**' || pattern === '#') return { pattern, exact: undefined, matches: everything };
  if (!pattern.includes('*') && !pattern.includes('#')) {
    assertTopic(pattern);
    return { pattern, exact: pattern, matches: (topic) => topic === pattern };
  }
  if (pattern.charCodeAt(0) === DOLLAR) throw new SyncTopicError(pattern, 'system topics ($…) can only be subscribed to exactly');
  const segments = pattern.split('.');
  let source = '^';
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    const last = i === segments.length - 1;
    if (i > 0) source += '\\.';
    if (seg === '*') source += '[^.]+';
    else if (seg === '**' || seg === '#') {
      if (!last) throw new SyncTopicError(pattern, `"${seg}" is only allowed as the last segment`);
      source += '.+';
    } else if (SEGMENT.test(seg)) source += seg; // [A-Za-z0-9_:-] has no regex metacharacters outside a class
    else throw new SyncTopicError(pattern, `segment "${seg}" is neither a name, "*", nor a trailing "**"/"#"`);
  }
  const re = new RegExp(source + '$');
  return { pattern, exact: undefined, matches: (topic) => topic.charCodeAt(0) !== DOLLAR && re.test(topic) };
}

/**
 * Match a topic against a pattern without keeping the compiled form. Prefer {@link compilePattern}
 * when the same pattern is tested repeatedly.
 */
export function topicMatches(pattern: string, topic: string): boolean {
  return compilePattern(pattern).matches(topic);
}
