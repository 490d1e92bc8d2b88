import { decodeValue } from '../../activities/ingestion/decode.js';
import { ProcessorRegistry } from '../../processors/processor.js';
import { RESTAURANT_PROCESSORS } from '../../processors/restaurant-facts.js';

const builtIn = new ProcessorRegistry(RESTAURANT_PROCESSORS);

/**
 * The worker's own verdict on one element of the feed (an object, or raw text as `/events` serves a
 * malformed event): 'valid' when it would be applied to the facts, else the reason it would be rejected.
 */
export function verdictOf(element: unknown): string {
  const decoded = decodeValue(element, null, 1, builtIn);
  if (decoded.kind === 'unreadable') return decoded.reason;
  return decoded.problem ?? 'valid';
}
