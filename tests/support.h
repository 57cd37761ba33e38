// Support for integration tests: the fixture's services, gridwatch subprocesses, HTTP and SQL.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <memory>
#include <mutex>

#include "gridwatch/platform/mqtt.h"
#include "gridwatch/platform/process.h"
#include "gridwatch/platform/services.h"

namespace gridwatch::testing {

// The services started by the CTest fixture (GRIDWATCH_TEST_SERVICES); fails the test if absent.
// `pg_conninfo` names this test's own database, a copy of a template with PostGIS made on first
// use and dropped when the test's process ends (CTest runs every test in a process of its own),
// so tests running in parallel never meet in the database.
platform::ServiceEndpoints services();

// Client options for the fixture's broker, with its test account (it refuses anonymous clients).
platform::MqttOptions mqtt_options(const platform::ServiceEndpoints& svc, std::string client_id);
// The same account as keys of a YAML flow mapping (`broker: {url: ..., ACCOUNT}`):
// "username: tests, password: ...".
std::string broker_account_yaml(const platform::ServiceEndpoints& svc);
// For the `  url: {}` line of a block `broker:` mapping (two-space indent): the url, then the
// account's `username:` and `password:` lines.
std::string broker_url_and_account(const platform::ServiceEndpoints& svc);

// A fresh directory under the temp dir, removed by the caller.
std::filesystem::path temp_dir(const std::string& name);
void write_file(const std::filesystem::path& p, const std::string& text);
std::string read_file(const std::filesystem::path& p);

// Beijing's 16 districts as the npm package echarts@4 ships them (GCJ-02, compressed; installed
// into web/node_modules by the set-up): boundaries every clone has.
inline std::string echarts_beijing_map() {
  return std::string(GRIDWATCH_SOURCE_DIR) + "/web/node_modules/echarts/map/json/province/beijing.json";
}

// A topic prefix no other test uses, so tests sharing the broker never see each other's traffic.
std::string unique_prefix();

// Starts `gridwatch ARGS...` with output to `log`.
platform::ChildProcess start_gridwatch(const std::vector<std::string>& args,
                                       const std::filesystem::path& log);
// Runs `gridwatch ARGS...` to completion; returns (exit code, stdout+stderr).
std::pair<int, std::string> run_gridwatch(const std::vector<std::string>& args,
                                          std::chrono::seconds timeout = std::chrono::seconds{60});

// Runs `gridwatch ARGS...` with `input` on stdin; returns (exit code, stdout, stderr).
struct RunResult {
  int code = -1;
  std::string out, err;
};
RunResult run_gridwatch_with_input(const std::vector<std::string>& args, const std::string& input);

// Polls `pred` every 50 ms until it is true or `timeout` passes.
bool eventually(const std::function<bool()>& pred,
                std::chrono::milliseconds timeout = std::chrono::seconds{20});

struct HttpReply {
  int status = 0;
  std::string body;
};
// The admin token of the tests' centers (auth_yaml() configures it); http_get and http_post send
// it unless set_token() chose another ("" sends none).
inline constexpr const char* kAdminToken = "tests-admin-token-0123456789";
// An "auth:" section with kAdminToken and `more_tokens` (lines "    - {name: ..., ...}\n").
std::string auth_yaml(const std::string& more_tokens = "");
void set_token(std::string token);
// GET, POST or PUT with `token` as "Authorization: Bearer" ("" sends none).
HttpReply http_request(int port, const std::string& method, const std::string& path, const std::string& body,
                       const std::string& token, const std::string& content_type = "application/json");
HttpReply http_get(int port, const std::string& path);
HttpReply http_post(int port, const std::string& path, const std::string& body,
                    const std::string& content_type = "application/x-www-form-urlencoded");
// A request the API must refuse (400): its path or query, the parameter the answer names
// ("parameter": ...) and words the answer says why with (as they stand in the JSON body).
struct Refusal {
  std::string query, parameter, words;
};
// Asks each refusal's query with `ask` and expects 400, its words and its parameter named.
void expect_refusals(const std::vector<Refusal>& refusals, const std::function<HttpReply(const std::string&)>& ask);
// application/x-www-form-urlencoded, in the order given.
std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields);

// A metric's value in Prometheus text, summed over its label sets; -1 when absent.
double metric(const std::string& text, const std::string& name);

// Runs a query and returns all rows, each a vector of text values ("" for NULL).
std::vector<std::vector<std::string>> sql(const std::string& conninfo, const std::string& query,
                                          const std::vector<std::string>& params = {});

// Collects every message on a topic filter (a client of the fixture's broker or of `url`).
class Listener {
 public:
  Listener(const platform::ServiceEndpoints& svc, const std::string& filter);
  std::vector<platform::MqttMessage> messages();
  std::optional<nlohmann::json> last_json();

 private:
  std::unique_ptr<platform::MqttClient> client_;
  std::mutex mu_;
  std::vector<platform::MqttMessage> messages_;
};

}  // namespace gridwatch::testing
