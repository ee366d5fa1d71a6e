import type { HandlerTable } from '../context.js';
import { certificateHandlers } from './certificates.js';
// jobs (rollouts)
import { jobHandlers } from './jobs.js';
import { membershipHandlers } from './membership.js';
import { iotTagHandlers } from './tags.js';
import { thingGroupHandlers } from './thing-groups.js';
import { thingHandlers } from './things.js';

export const iotHandlers: HandlerTable = { ...thingHandlers, ...thingGroupHandlers, ...membershipHandlers, ...iotTagHandlers, ...certificateHandlers, ...jobHandlers };
