#pragma once
// 每月一题: which recurring problem of the month deserves root-cause work. The score of a
// category group over a month (docs/analytics.md):
//
//   score = share × recurrence × (1 − satisfaction) × departments
//
// share: its cases over all cases of the month; recurrence: the weeks (of the 13 ending with the
// month) in which its most recurrent persistent or intensifying hot spot was hot, over 13 (at
// least 1/13); satisfaction: satisfied over evaluated cases of the month (0.5 when none were
// evaluated: unknown is neither good nor bad); departments: how many departments its cases went to
// (at least 1).

#include <string>
#include <vector>

namespace gridwatch::center::analytics {

struct ProblemFigures {
  std::string group;
  double cases = 0, all_cases = 0;
  double evaluated = 0, satisfied = 0;
  double departments = 0;
  size_t recurring_weeks = 0, weeks = 13;
};

struct ProblemScore {
  double share = 0, recurrence = 0, dissatisfaction = 0, departments = 1, score = 0;
};

ProblemScore problem_score(const ProblemFigures& f);

}  // namespace gridwatch::center::analytics
