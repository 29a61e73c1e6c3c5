import { onEverySessionBackend } from './support/session-backends.js';
import { telegrafSessionSuite } from './support/telegraf-session-suite.js';

await onEverySessionBackend(telegrafSessionSuite);
