import type { DashcardUpdate, ExistingDashcard } from './client.js';

export interface PlacedCard {
  readonly cardId: number;
  readonly row: number;
  readonly col: number;
  readonly sizeX: number;
  readonly sizeY: number;
}

/**
 * The full `dashcards` list for `PUT /api/dashboard/:id`: each placement keeps the id of an existing
 * dashcard showing the same card (so a re-run updates instead of re-creating), the rest get negative
 * ids (Metabase creates those), and existing dashcards not reused are left out (Metabase removes them).
 */
export function dashcardsFor(placements: readonly PlacedCard[], existing: readonly ExistingDashcard[]): DashcardUpdate[] {
  const reusable = [...existing];
  let nextNewId = -1;
  return placements.map((placement) => {
    const index = reusable.findIndex((dashcard) => dashcard.card_id === placement.cardId);
    const [reused] = index >= 0 ? reusable.splice(index, 1) : [];
    return {
      id: reused?.id ?? nextNewId--,
      card_id: placement.cardId,
      row: placement.row,
      col: placement.col,
      size_x: placement.sizeX,
      size_y: placement.sizeY,
      parameter_mappings: [],
      series: [],
      visualization_settings: {},
    };
  });
}
