#include "support.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <libpq-fe.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <regex>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

namespace gridwatch::testing {

namespace {

// Runs one statement; "" or libpq's error.
std::string exec_one(const std::string& conninfo, const std::string& statement) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  std::string error;
  if (PQstatus(c) != CONNECTION_OK) {
    error = PQerrorMessage(c);
  } else {
    PGresult* r = PQexec(c, statement.c_str());
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
      error = fmt::format("{}: {}", statement, PQresultErrorMessage(r));
    PQclear(r);
  }
  PQfinish(c);
  return error;
}

std::string with_database(const std::string& conninfo, const std::string& db) {
  static const std::regex dbname(R"(dbname=\S+)");
  return std::regex_replace(conninfo, dbname, "dbname=" + db);
}

constexpr const char* kTemplate = "gridwatch_test_template";

// The template every test's database is copied from: PostGIS installed, nothing else (each
// center applies its migrations). Made once per fixture, under a file lock; it must have no
// connection while it is copied, so it is built under another name and renamed.
std::string ensure_template(const std::string& admin, const std::filesystem::path& dir) {
  const int fd = ::open((dir / "test-template.lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0 || ::flock(fd, LOCK_EX) != 0) return fmt::format("lock {}: {}", (dir / "test-template.lock").string(), std::strerror(errno));
  std::string error;
  PGconn* c = PQconnectdb(admin.c_str());
  PGresult* r = PQexec(c, fmt::format("SELECT 1 FROM pg_database WHERE datname = '{}'", kTemplate).c_str());
  const bool exists = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
  if (PQresultStatus(r) != PGRES_TUPLES_OK) error = PQerrorMessage(c);
  PQclear(r);
  PQfinish(c);
  if (error.empty() && !exists) {
    const std::string building = fmt::format("{}_building", kTemplate);
    for (const std::string& step : {fmt::format("DROP DATABASE IF EXISTS {}", building), fmt::format("CREATE DATABASE {}", building)})
      if (error.empty()) error = exec_one(admin, step);
    if (error.empty()) error = exec_one(with_database(admin, building), "CREATE EXTENSION postgis");
    if (error.empty()) error = exec_one(admin, fmt::format("ALTER DATABASE {} RENAME TO {}", building, kTemplate));
  }
  ::close(fd);  // releases the lock
  return error;
}

// This test process's own database, copied from the template on first use and dropped when the
// process ends: CTest runs each test in a process of its own, so each test has its own.
class OwnDatabase {
 public:
  OwnDatabase(const std::string& conninfo, const std::filesystem::path& dir)
      : admin_(with_database(conninfo, "postgres")),
        name_(fmt::format("test_{}_{:x}", getpid(), std::random_device{}() & 0xffffff)) {
    error_ = ensure_template(admin_, dir);
    if (error_.empty()) error_ = exec_one(admin_, fmt::format("CREATE DATABASE {} TEMPLATE {}", name_, kTemplate));
    if (!error_.empty()) name_.clear();
  }
  ~OwnDatabase() {
    if (!name_.empty()) exec_one(admin_, fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", name_));
  }
  const std::string& name() const { return name_; }
  const std::string& error() const { return error_; }

 private:
  std::string admin_, name_, error_;
};

}  // namespace

platform::ServiceEndpoints services() {
  const char* dir = std::getenv("GRIDWATCH_TEST_SERVICES");
  if (!dir) {
    ADD_FAILURE() << "GRIDWATCH_TEST_SERVICES is not set: run through ctest (the services fixture)";
    return {};
  }
  auto e = platform::PrivateServices::read_state(dir);
  if (!e) {
    ADD_FAILURE() << e.error().message;
    return {};
  }
  if (e->pg_conninfo.empty()) return *e;
  static OwnDatabase own(e->pg_conninfo, dir);
  if (!own.error().empty()) {
    ADD_FAILURE() << "the test's own database: " << own.error();
    return {};
  }
  e->pg_conninfo = with_database(e->pg_conninfo, own.name());
  return *e;
}

platform::MqttOptions mqtt_options(const platform::ServiceEndpoints& svc, std::string client_id) {
  return {.url = svc.mqtt_url, .client_id = std::move(client_id), .username = svc.mqtt_username,
          .password = svc.mqtt_password};
}

std::string broker_account_yaml(const platform::ServiceEndpoints& svc) {
  return fmt::format("username: {}, password: \"{}\"", svc.mqtt_username, svc.mqtt_password);
}

std::string broker_url_and_account(const platform::ServiceEndpoints& svc) {
  return fmt::format("{}\n  username: {}\n  password: \"{}\"", svc.mqtt_url, svc.mqtt_username, svc.mqtt_password);
}

std::filesystem::path temp_dir(const std::string& name) {
  static std::atomic<int> n{0};
  auto p = std::filesystem::temp_directory_path() / fmt::format("gw-{}-{}-{}", name, getpid(), n++);
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p;
}

void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::trunc);
  out << text;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string unique_prefix() {
  static std::atomic<int> n{0};
  return fmt::format("t{}x{}/v1", getpid(), n++);
}

platform::ChildProcess start_gridwatch(const std::vector<std::string>& args,
                                       const std::filesystem::path& log) {
  std::vector<std::string> argv{GRIDWATCH_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  platform::SpawnOptions so;
  so.log_file = log;
  auto c = platform::ChildProcess::spawn(argv, so);
  if (!c) throw std::runtime_error(c.error().message);
  return std::move(*c);
}

std::pair<int, std::string> run_gridwatch(const std::vector<std::string>& args, std::chrono::seconds timeout) {
  auto dir = temp_dir("run");
  auto log = dir / "out.log";
  auto c = start_gridwatch(args, log);
  auto st = c.wait(timeout);
  std::string out = read_file(log);
  std::filesystem::remove_all(dir);
  if (!st || !WIFEXITED(*st)) return {-1, out};
  return {WEXITSTATUS(*st), out};
}

RunResult run_gridwatch_with_input(const std::vector<std::string>& args, const std::string& input) {
  auto dir = temp_dir("run");
  write_file(dir / "in.txt", input);
  std::vector<std::string> argv{GRIDWATCH_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  platform::SpawnOptions so;
  so.log_file = dir / "err.log";
  so.stdout_file = dir / "out.txt";
  so.stdin_file = dir / "in.txt";
  RunResult r;
  auto c = platform::ChildProcess::spawn(argv, so);
  if (c) {
    auto st = c->wait(std::chrono::seconds{60});
    if (st && WIFEXITED(*st)) r.code = WEXITSTATUS(*st);
  }
  r.out = read_file(dir / "out.txt");
  r.err = read_file(dir / "err.log");
  std::filesystem::remove_all(dir);
  return r;
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
  return pred();
}

namespace {
std::mutex token_mu;
std::string default_token = kAdminToken;
}  // namespace

void set_token(std::string token) {
  std::lock_guard lock(token_mu);
  default_token = std::move(token);
}

std::string auth_yaml(const std::string& more_tokens) {
  return fmt::format("auth:\n  tokens:\n    - {{name: tests-admin, role: admin, token: \"{}\"}}\n{}", kAdminToken,
                     more_tokens);
}

HttpReply http_request(int port, const std::string& method, const std::string& path, const std::string& body,
                       const std::string& token, const std::string& content_type) {
  httplib::Client cli("127.0.0.1", port);
  cli.set_connection_timeout(2);
  cli.set_read_timeout(10);
  httplib::Headers headers;
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  httplib::Result r = method == "GET"   ? cli.Get(path, headers)
                      : method == "PUT" ? cli.Put(path, headers, body, content_type)
                                        : cli.Post(path, headers, body, content_type);
  if (!r) return {};
  return {r->status, r->body};
}

void expect_refusals(const std::vector<Refusal>& refusals, const std::function<HttpReply(const std::string&)>& ask) {
  for (const Refusal& r : refusals) {
    const HttpReply got = ask(r.query);
    EXPECT_EQ(got.status, 400) << r.query << ": " << got.body;
    EXPECT_NE(got.body.find(r.words), std::string::npos) << r.query << ": " << got.body;
    EXPECT_NE(got.body.find("\"parameter\":\"" + r.parameter + "\""), std::string::npos) << r.query << ": " << got.body;
  }
}

HttpReply http_get(int port, const std::string& path) {
  std::string token;
  {
    std::lock_guard lock(token_mu);
    token = default_token;
  }
  return http_request(port, "GET", path, "", token);
}

HttpReply http_post(int port, const std::string& path, const std::string& body,
                    const std::string& content_type) {
  std::string token;
  {
    std::lock_guard lock(token_mu);
    token = default_token;
  }
  return http_request(port, "POST", path, body, token, content_type);
}

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    if (!out.empty()) out += '&';
    out += httplib::detail::encode_query_param(k) + "=" + httplib::detail::encode_query_param(v);
  }
  return out;
}

std::vector<std::vector<std::string>> sql(const std::string& conninfo, const std::string& query,
                                          const std::vector<std::string>& params) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  std::vector<std::vector<std::string>> rows;
  if (PQstatus(c) != CONNECTION_OK) {
    ADD_FAILURE() << PQerrorMessage(c);
    PQfinish(c);
    return rows;
  }
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p.c_str());
  PGresult* r = PQexecParams(c, query.c_str(), static_cast<int>(params.size()), nullptr,
                             values.data(), nullptr, nullptr, 0);
  if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK) {
    ADD_FAILURE() << query << ": " << PQresultErrorMessage(r);
  } else {
    for (int i = 0; i < PQntuples(r); ++i) {
      std::vector<std::string> row;
      for (int j = 0; j < PQnfields(r); ++j) row.emplace_back(PQgetvalue(r, i, j));
      rows.push_back(std::move(row));
    }
  }
  PQclear(r);
  PQfinish(c);
  return rows;
}

Listener::Listener(const platform::ServiceEndpoints& svc, const std::string& filter) {
  static std::atomic<int> n{0};
  client_ = std::move(*platform::MqttClient::create(mqtt_options(svc, fmt::format("t-listen-{}-{}", getpid(), n++))));
  client_->on_message([this](platform::MqttMessage m) {
    std::lock_guard lock(mu_);
    messages_.push_back(std::move(m));
  });
  EXPECT_TRUE(client_->subscribe(filter, 1).has_value());
  EXPECT_TRUE(client_->connect(std::chrono::seconds{10}).has_value());
}

std::vector<platform::MqttMessage> Listener::messages() {
  std::lock_guard lock(mu_);
  return messages_;
}

std::optional<nlohmann::json> Listener::last_json() {
  std::lock_guard lock(mu_);
  if (messages_.empty()) return std::nullopt;
  return nlohmann::json::parse(messages_.back().payload, nullptr, false);
}

double metric(const std::string& text, const std::string& name) {
  double sum = 0;
  bool seen = false;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.size() <= name.size() || line.compare(0, name.size(), name) != 0) continue;
    if (line[name.size()] != ' ' && line[name.size()] != '{') continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
    seen = true;
  }
  return seen ? sum : -1;
}

}  // namespace gridwatch::testing
