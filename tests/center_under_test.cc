#include "center_under_test.h"

#include <gtest/gtest.h>

#include <iostream>

#include <fmt/format.h>

namespace gridwatch::testing {

CenterUnderTest::CenterUnderTest(std::filesystem::path dir, CenterSpec spec)
    : dir_(std::move(dir)), config_(dir_ / "center.yaml") {
  const platform::ServiceEndpoints svc = services();
  port_ = platform::free_tcp_port().value_or(0);
  const std::string pool = spec.pool_size > 0 ? fmt::format("  pool_size: {}\n", spec.pool_size) : "";
  const std::string broker =
      spec.broker.empty() ? fmt::format("  url: {}\n", broker_url_and_account(svc)) : spec.broker;
  write_file(config_, fmt::format("center:\n  id: {}\nbroker:\n{}  topic_prefix: {}\n"
                                  "database:\n  conninfo: \"{}\"\n{}http:\n  port: {}\n{}{}",
                                  spec.id, broker, spec.prefix, svc.pg_conninfo, pool, port_, spec.sections, spec.auth));
}

CenterUnderTest::~CenterUnderTest() {
  if (::testing::Test::HasFailure()) std::cerr << "---- center log (" << config_.string() << ")\n" << log();
  stop();
}

bool CenterUnderTest::start() {
  process_.emplace(start_gridwatch({"center", "--config", config_.string()}, dir_ / "center.log"));
  return eventually([&] { return http_get(port_, "/healthz").status == 200; }, std::chrono::seconds{20});
}

void CenterUnderTest::stop(std::chrono::seconds grace) {
  if (process_) process_->stop(grace);
  process_.reset();
}

std::string CenterUnderTest::log() const { return read_file(dir_ / "center.log"); }

}  // namespace gridwatch::testing
