import { describe, expect, it } from 'vitest';
import { isOptOut } from '../../lib/replies.js';

describe('opt-out replies', () => {
  it.each(['TD', 'td', ' Td ', '退订', 'T', 't', 'R', 'n', ' N\n'])('%j opts out', (s) => expect(isOptOut(s)).toBe(true));
  it.each(['TDD', '收到', '不要', 'no', '', 'T D'])('%j does not', (s) => expect(isOptOut(s)).toBe(false));
});
