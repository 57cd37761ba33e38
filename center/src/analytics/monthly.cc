#include "gridwatch/center/analytics/monthly.h"

#include <algorithm>

namespace gridwatch::center::analytics {

ProblemScore problem_score(const ProblemFigures& f) {
  ProblemScore s;
  s.share = f.all_cases > 0 ? f.cases / f.all_cases : 0.0;
  const double weeks = double(std::max<size_t>(f.weeks, 1));
  s.recurrence = double(std::clamp<size_t>(f.recurring_weeks, 1, f.weeks)) / weeks;
  s.dissatisfaction = f.evaluated > 0 ? 1.0 - f.satisfied / f.evaluated : 0.5;
  s.departments = std::max(1.0, f.departments);
  s.score = s.share * s.recurrence * s.dissatisfaction * s.departments;
  return s;
}

}  // namespace gridwatch::center::analytics
