import type { HandlerTable } from '../context.js';
import { componentHandlers } from './components.js';
import { coreDeviceHandlers } from './core-devices.js';
import { deploymentHandlers } from './deployments.js';
import { tagHandlers } from './tags.js';

export const greengrassHandlers: HandlerTable = { ...deploymentHandlers, ...componentHandlers, ...tagHandlers, ...coreDeviceHandlers };
