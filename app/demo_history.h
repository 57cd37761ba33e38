// The demo's history (docs/analytics.md): 13 weeks of generated, closed cases in the two central
// districts (seeded), with a growing dumped-rubble problem in Dongcheng and a burst of parking
// cases today in Xicheng, so that the analytics, the big screen and the reports have data to show.
#pragma once

#include <string>

#include "gridwatch/center/center.h"

namespace gridwatch::app {

// Writes the history into the center's store and prints one line; false when it could not.
bool seed_demo_history(center::Center& center);
// One line each from the analytics API: hot spots, emerging hot spots, anomalies, 每月一题.
std::string demo_analytics_lines(int http_port);

}  // namespace gridwatch::app
