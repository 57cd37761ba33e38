// The cases the map holds and the filters that choose which of them are drawn. main.js creates
// one; the other parts change it through its functions and hear of every change by `onChange`.
import { STATES } from '../common/i18n.js';

export const SOURCES = ['hotline', 'camera', 'sensor', 'patrol'];
// The map shows open problems whose work is not over: closed, cancelled and duplicate cases are off it.
export const OPEN_WORK = STATES.filter((s) => !['closed', 'cancelled', 'duplicate'].includes(s));

// The category's group, which picks its icon: 'sanitation.bin_overflow' -> 'sanitation'.
export const groupOf = (category) => String(category).split('.')[0];

// Whether a case's map properties pass the filters.
export function passes(p, f) {
  if (f.categories.size && !f.categories.has(p.category)) return false;
  if (f.states.size && !f.states.has(p.state)) return false;
  if (!f.sources.has(p.source)) return false;
  if (f.overdue && !p.overdue) return false;
  if (f.proactive && !p.proactive) return false;
  return true;
}

export function createCases() {
  const cases = new Map(); // id -> GeoJSON feature (WGS-84, the map's few properties)
  // Sets: empty means all (sources start with all three); flags: only the overdue / proactive.
  const filters = { categories: new Set(), states: new Set(), sources: new Set(SOURCES), overdue: false, proactive: false };
  const listeners = [];
  const changed = () => { for (const fn of listeners) fn(); };
  return {
    onChange: (fn) => { listeners.push(fn); },
    replaceAll(features) {
      cases.clear();
      for (const f of features) cases.set(f.id, f);
      changed();
    },
    put(f) {
      cases.set(f.id, f);
      changed();
    },
    remove(id) {
      if (cases.delete(id)) changed();
    },
    has: (id) => cases.has(id),
    get: (id) => cases.get(id),
    all: () => [...cases.values()],
    // What the map draws: the cases with a position that pass the filters.
    shown: () => [...cases.values()].filter((f) => f.geometry && passes(f.properties, filters)),
    // Filters: a set's member (`in`, `include`) or a flag (`flag`, `setFlag`).
    in: (set, value) => filters[set].has(value),
    include(set, value, on) {
      if (on) filters[set].add(value);
      else filters[set].delete(value);
      changed();
    },
    flag: (name) => filters[name],
    // The filters themselves, to read (the map's tiles take them as parameters).
    filters: () => filters,
    setFlag(name, on) {
      filters[name] = on;
      changed();
    },
  };
}
