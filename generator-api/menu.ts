import { MENU_CATEGORIES, type MenuCategory } from '../events/index.js';
import { Random, STREAM, weightedTable, type SeedKey, type WeightedTable } from './random.js';

/** The contract's category weights and unit price ranges in dollars. */
export const CATEGORY_PROFILES: Readonly<Record<MenuCategory, { weight: number; price: readonly [number, number] }>> = {
  coffee: { weight: 5, price: [2.25, 6] },
  breakfast: { weight: 7, price: [8, 16] },
  appetizer: { weight: 8, price: [7, 16] },
  salad: { weight: 7, price: [9, 19] },
  sandwich: { weight: 8, price: [10, 19] },
  burger: { weight: 10, price: [12, 22] },
  pizza: { weight: 8, price: [12, 26] },
  pasta: { weight: 7, price: [12, 26] },
  entree: { weight: 18, price: [15, 40] },
  dessert: { weight: 6, price: [5, 12] },
  kids: { weight: 3, price: [7, 12] },
  beverage: { weight: 7, price: [2, 6] },
  alcohol: { weight: 6, price: [6, 16] },
};

export type DayPart = 'morning' | 'midday' | 'evening' | 'other';

/** The contract's UTC hour buckets: morning 6–11, midday 11–15, evening 17–23, the rest "other". */
export function dayPartOf(hourUtc: number): DayPart {
  if (hourUtc >= 6 && hourUtc < 11) return 'morning';
  if (hourUtc >= 11 && hourUtc < 15) return 'midday';
  if (hourUtc >= 17 && hourUtc < 23) return 'evening';
  return 'other';
}

/** Multipliers of the category weights by time of day; a category not named keeps its weight. */
export const DAY_PART_BOOSTS: Readonly<Record<DayPart, Partial<Record<MenuCategory, number>>>> = {
  morning: {
    coffee: 1.8, breakfast: 2.5, beverage: 1.3, appetizer: 0.5, salad: 0.6, sandwich: 0.8, burger: 0.6,
    pizza: 0.4, pasta: 0.4, entree: 0.4, dessert: 0.6, alcohol: 0.2,
  },
  midday: {
    breakfast: 0.5, salad: 1.5, sandwich: 1.6, burger: 1.4, pizza: 1.2, pasta: 1.1, entree: 0.8,
    appetizer: 0.8, dessert: 0.8, beverage: 1.2, alcohol: 0.5,
  },
  evening: {
    coffee: 0.5, breakfast: 0.2, sandwich: 0.6, salad: 0.9, burger: 1.1, pizza: 1.3, pasta: 1.3,
    entree: 1.6, appetizer: 1.4, dessert: 1.3, kids: 1.1, alcohol: 1.8,
  },
  other: {},
};

/** The weight of every category at one time of day, before normalising. */
export function categoryWeights(dayPart: DayPart): Record<MenuCategory, number> {
  const boosts = DAY_PART_BOOSTS[dayPart];
  return Object.fromEntries(
    MENU_CATEGORIES.map((category) => [category, CATEGORY_PROFILES[category].weight * (boosts[category] ?? 1)]),
  ) as Record<MenuCategory, number>;
}

export interface MenuItem {
  readonly menuItemId: string;
  readonly category: MenuCategory;
  readonly name: string;
  readonly unitPriceCents: number;
}

export const ITEMS_PER_CATEGORY = 50;

const capitalised = (category: MenuCategory) => category[0]!.toUpperCase() + category.slice(1);

/**
 * The chain's menu, fixed for a seed: every category has items "Burger 1" … "Burger 50", each with a
 * stable id and a price drawn once from the category's range, as on a real menu.
 */
export class Menu {
  private readonly items: Readonly<Record<MenuCategory, readonly MenuItem[]>>;
  private readonly categoriesByDayPart: Readonly<Record<DayPart, WeightedTable<MenuCategory>>>;

  constructor(key: SeedKey) {
    const random = Random.stream(key, STREAM.menu, 0);
    const items = {} as Record<MenuCategory, MenuItem[]>;
    for (const category of MENU_CATEGORIES) {
      const [low, high] = CATEGORY_PROFILES[category].price;
      items[category] = Array.from({ length: ITEMS_PER_CATEGORY }, (_, i) => ({
        // Kept as long as the menu: one flat copy instead of the tree of 20 pieces `uuid()` adds up (many feeds hold many menus).
        menuItemId: [...random.uuid()].join(''),
        category,
        name: `${capitalised(category)} ${i + 1}`,
        unitPriceCents: random.int(Math.round(low * 100), Math.round(high * 100)),
      }));
    }
    this.items = items;
    const table = (dayPart: DayPart) =>
      weightedTable(Object.entries(categoryWeights(dayPart)) as Array<[MenuCategory, number]>);
    this.categoriesByDayPart = {
      morning: table('morning'),
      midday: table('midday'),
      evening: table('evening'),
      other: table('other'),
    };
  }

  /** What a guest orders at this time of day. */
  choose(random: Random, dayPart: DayPart): MenuItem {
    const category = random.weighted(this.categoriesByDayPart[dayPart]);
    return random.pick(this.items[category]);
  }
}
