// The demo's grid workers on patrol: two workers of the underpass's grid walk it (a scripted
// round, the morning's part sent at start as a phone back from a dead spot would), their phones
// send their tracks in batches, one reports a problem nobody had reported, and the summary gives
// the grid's coverage of the day (docs/patrol.md).
#pragma once

#include <array>
#include <string>
#include <vector>

#include "gridwatch/center/center.h"
#include "gridwatch/domain/order.h"
#include "gridwatch/domain/time.h"

namespace gridwatch::app {

class DemoPatrol {
 public:
  // `grid`: the workers' grid and its bounding box (min lon, min lat, max lon, max lat).
  DemoPatrol(center::Center& center, std::string grid, std::array<double, 4> bbox);
  // The morning's round so far (positions of the last two hours, at most since local midnight).
  void start();
  // Second `t` of the demo: worker 2's positions every 15 s, worker 1's report at 8 s.
  void tick(int t);
  // A photo for a worker's step (uploaded once); "" when the upload failed.
  std::string photo(const char* token, const char* caption);
  // Coverage of the grid today, per worker, and what the phones sent, for the summary.
  std::string summary() const;

 private:
  struct Walker {
    const char* name;
    const char* token;
    std::vector<LonLat> path;  // one position every kStepS seconds along the worker's route
    size_t next = 0;           // the next position to send
  };
  // Sends `w`'s positions [w.next, upto) stamped kStepS apart ending at `last`.
  void send(Walker& w, size_t upto, Timestamp last, const std::vector<std::pair<size_t, LonLat>>& jumps = {});

  center::Center& center_;
  std::string grid_;
  std::array<double, 4> bbox_;
  std::vector<Walker> walkers_;
  size_t sent_ = 0, glitches_ = 0;
  std::string report_case_;
};

}  // namespace gridwatch::app
