// A `gridwatch center` process for a test: its configuration written to a file, started, /healthz
// awaited, and its log printed when the test has failed. On the fixture's broker and the test's
// own database (support.h: services()).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "gridwatch/platform/process.h"
#include "support.h"

namespace gridwatch::testing {

struct CenterSpec {
  std::string id;      // center.id
  std::string prefix;  // broker.topic_prefix (unique_prefix() keeps tests apart on the broker)
  // YAML sections after center, broker, database and http (areas:, open311:, dispatch: ...).
  std::string sections;
  // The auth: section (auth_yaml(): the admin token kAdminToken).
  std::string auth = auth_yaml();
  int pool_size = 0;  // database.pool_size; 0: the default
  // The broker: section's lines ("  kind: rabbitmq\n  url: ...\n"); empty: the fixture's broker.
  std::string broker;
};

class CenterUnderTest {
 public:
  // Writes `dir`/center.yaml (the directory is the caller's) on a free port; start() starts it.
  CenterUnderTest(std::filesystem::path dir, CenterSpec spec);
  // Stops the center; prints its log on stderr when the current test has failed.
  ~CenterUnderTest();
  CenterUnderTest(const CenterUnderTest&) = delete;
  CenterUnderTest& operator=(const CenterUnderTest&) = delete;

  // Starts the process and waits until /healthz answers 200 (false: it did not within 20 s;
  // `log()` says why). Starting again after stop() is a restart on the same database.
  [[nodiscard]] bool start();
  // SIGTERM, then waits for the exit (SIGKILL after `grace`).
  void stop(std::chrono::seconds grace = std::chrono::seconds{10});

  int port() const { return port_; }
  std::string log() const;
  platform::ChildProcess& process() { return *process_; }

 private:
  std::filesystem::path dir_, config_;
  int port_ = 0;
  std::optional<platform::ChildProcess> process_;
};

}  // namespace gridwatch::testing
