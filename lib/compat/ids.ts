import { createHash } from 'node:crypto';

/** A compat message's SUBMAIL send_id / SendCloud smsId: derived, so a later push can name it again. */
export const compatSendId = (taskId: string, phone: string): string => createHash('md5').update(`${taskId}:${phone}`).digest('hex');
