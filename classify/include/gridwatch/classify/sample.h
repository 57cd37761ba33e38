// Generated complaint texts for the catalog's categories: what the demo trains its model on and
// what the tests train with when no real export is at hand. They are template sentences (a
// place, a problem phrase of the category, a closing) in Chinese with a phone number here and
// there; they show the pipeline working, not how well it does on real calls.
#pragma once

#include <cstdint>
#include <vector>

#include "gridwatch/classify/model.h"

namespace gridwatch::classify {

// `per_category` texts for each category the generator knows (the built-in catalog's codes),
// seeded: the same seed gives the same texts.
std::vector<Example> sample_tickets(size_t per_category, uint64_t seed);

}  // namespace gridwatch::classify
