// gridwatch vision replay: one camera's pipeline over a recorded clip, as fast as possible.
#include <fstream>

#include <fmt/format.h>

#include "gridwatch/agent/camera_geo.h"
#include "commands.h"
#include "gridwatch/vision/pipeline.h"

namespace gridwatch::app {

int run_vision_replay(const VisionReplayOptions& options) {
  auto config = vision::load_camera_config(options.camera);
  if (!config) {
    fmt::print(stderr, "error: {}\n", config.error().message);
    return kExitUsage;
  }
  auto start = parse_rfc3339(options.start);
  if (!start) {
    fmt::print(stderr, "error: --start: {}\n", start.error().message);
    return kExitUsage;
  }
  auto source = vision::VideoFileSource::open(options.video);
  if (!source) {
    fmt::print(stderr, "error: {}\n", source.error().message);
    return kExitUsage;
  }
  auto calibration = agent::camera_calibration(*config);
  if (!calibration) {
    fmt::print(stderr, "error: {}: calibration: {}\n", options.camera.string(), calibration.error().message);
    return kExitUsage;
  }
  auto pipeline = vision::CameraPipeline::create(std::move(*config), agent::ground_size(std::move(*calibration)));
  if (!pipeline) {
    fmt::print(stderr, "error: {}\n", pipeline.error().message);
    return kExitUsage;
  }
  std::ofstream file_out;
  std::ostream* out = open_output(options.events_out, file_out);
  if (!out) return kExitUsage;
  auto stats = vision::run_pipeline(**source, **pipeline, [&](const vision::ZoneEvent& e) {
    *out << e.to_json(*start).dump() << '\n';
  });
  out->flush();
  if (!stats) {
    fmt::print(stderr, "error: {}\n", stats.error().message);
    return kExitFailure;
  }
  double total = 0;
  std::string stages;
  for (const auto& [stage, ms] : stats->stage_ms) {
    total += ms;
    const auto frames = std::max<int64_t>(1, stage == "decode" ? stats->frames_in : stats->frames_analysed);
    stages += fmt::format(" {} {:.2f}", stage, ms / static_cast<double>(frames));
  }
  fmt::print(stderr,
             "{}: {} frames ({} analysed, {} corrupt), {} events, {:.2f} s; ms per frame:{}\n",
             options.video.string(), stats->frames_in, stats->frames_analysed, stats->frames_corrupt, stats->events,
             total / 1000.0, stages);
  return kExitOk;
}

}  // namespace gridwatch::app
