#include "gridwatch/agent/outbox.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <chrono>
#include <deque>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace gridwatch::agent {
namespace {

// S: the highest sequence number used so far (written by a rewrite, which drops the records
// that carried it).
constexpr char kAdd = 'A', kAck = 'K', kDrop = 'D', kSeq = 'S';
constexpr size_t kHeader = 2 + 1 + 4 + 4;  // "GW", type, length, CRC-32
constexpr uint32_t kMaxBody = 64u << 20;

void put_u(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

uint64_t get_u(std::string_view in, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(in[at + static_cast<size_t>(i)])) << (8 * i);
  return v;
}

uint32_t crc_of(char type, std::string_view body) {
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(&type), 1);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()));
  return static_cast<uint32_t>(crc);
}

void frame(std::string& out, char type, std::string_view body) {
  out += "GW";
  out += type;
  put_u(out, body.size(), 4);
  put_u(out, crc_of(type, body), 4);
  out += body;
}

std::string add_record(const OutboxEntry& e) {
  std::string body;
  put_u(body, e.seq, 8);
  put_u(body, static_cast<uint64_t>(e.priority), 1);
  put_u(body, e.topic.size(), 2);
  body += e.topic;
  body += e.payload;
  std::string out;
  frame(out, kAdd, body);
  return out;
}

std::string seq_record(char type, uint64_t seq) {
  std::string body;
  put_u(body, seq, 8);
  std::string out;
  frame(out, type, body);
  return out;
}

Error io_error(const std::string& what) {
  return Error{ErrorCode::kIo, fmt::format("{}: {}", what, std::strerror(errno)), "outbox"};
}

class FileLog final : public OutboxLog {
 public:
  explicit FileLog(std::filesystem::path file) : file_(std::move(file)) {}
  ~FileLog() override {
    if (fd_ >= 0) ::close(fd_);
  }
  Status open() {
    fd_ = ::open(file_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd_ < 0) return std::unexpected(io_error(fmt::format("cannot open {}", file_.string())));
    struct stat st {};
    if (::fstat(fd_, &st) != 0) return std::unexpected(io_error(fmt::format("stat {}", file_.string())));
    size_ = static_cast<off_t>(st.st_size);
    sync_dir();  // a new file's directory entry must reach the disk too
    return {};
  }
  Status append(std::string_view bytes, bool sync) override {
    if (fd_ < 0) return fail(ErrorCode::kIo, fmt::format("{} is not open", file_.string()), "outbox");
    auto st = write_all(fd_, bytes);
    if (st && sync && ::fdatasync(fd_) != 0) st = std::unexpected(io_error(fmt::format("fdatasync {}", file_.string())));
    if (!st) {
      // All or nothing: a partly written record would hide every later one at the next open.
      if (::ftruncate(fd_, size_) != 0) {
        spdlog::error("outbox: cannot undo a failed write of {} ({}); the log is closed", file_.string(),
                      std::strerror(errno));
        ::close(fd_);
        fd_ = -1;
      }
      return st;
    }
    size_ += static_cast<off_t>(bytes.size());
    return {};
  }
  Result<std::string> read_all() override {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) return std::unexpected(io_error(fmt::format("stat {}", file_.string())));
    std::string out(static_cast<size_t>(st.st_size), '\0');
    size_t got = 0;
    while (got < out.size()) {
      const ssize_t n = ::pread(fd_, out.data() + got, out.size() - got, static_cast<off_t>(got));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return std::unexpected(io_error(fmt::format("read {}", file_.string())));
      got += static_cast<size_t>(n);
    }
    return out;
  }
  Status replace(std::string_view bytes) override {
    const auto tmp = std::filesystem::path(file_.string() + ".new");
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return std::unexpected(io_error(fmt::format("cannot create {}", tmp.string())));
    auto st = write_all(fd, bytes);
    if (st && ::fdatasync(fd) != 0) st = std::unexpected(io_error(fmt::format("fdatasync {}", tmp.string())));
    ::close(fd);
    if (!st) return st;
    if (::rename(tmp.c_str(), file_.c_str()) != 0)
      return std::unexpected(io_error(fmt::format("rename {}", tmp.string())));
    // The rename itself must reach the disk: open() syncs the directory.
    if (fd_ >= 0) ::close(fd_);
    return open();
  }

 private:
  Status write_all(int fd, std::string_view bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return std::unexpected(io_error(fmt::format("write {}", file_.string())));
      done += static_cast<size_t>(n);
    }
    return {};
  }

  void sync_dir() const {
    const int dir = ::open(file_.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0 || ::fsync(dir) != 0) spdlog::warn("outbox: cannot sync directory {}", file_.parent_path().string());
    if (dir >= 0) ::close(dir);
  }

  std::filesystem::path file_;
  int fd_ = -1;
  off_t size_ = 0;  // what is whole on disk
};

}  // namespace

std::string confirmation_key(std::string_view id, std::string_view event, std::string_view observed_at) {
  return fmt::format("{} {} {}", event, id, observed_at);
}

namespace {

// The string member `key` of `j`; nullptr when `j` is no object or has no such string.
const std::string* text_of(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
}

// confirmation_key of an object with string members id, event and observed_at; "" otherwise.
std::string key_of(const nlohmann::json& j) {
  const std::string *id = text_of(j, "id"), *event = text_of(j, "event"), *at = text_of(j, "observed_at");
  return id && event && at ? confirmation_key(*id, *event, *at) : "";
}

}  // namespace

std::string confirmation_key(std::string_view payload) {
  const auto j = nlohmann::json::parse(payload, nullptr, false);
  const std::string* schema = text_of(j, "schema");
  return schema && *schema == "gw.order/1" ? key_of(j) : "";
}

Result<std::vector<std::string>> parse_confirmation(std::string_view payload) {
  const auto j = nlohmann::json::parse(payload, nullptr, false);
  auto bad = [] {
    return fail(ErrorCode::kInvalidArgument,
                R"(not a confirmation: {"stored": [{"id", "event", "observed_at"}, ...]} expected)", "stored");
  };
  if (!j.is_object() || !j.contains("stored") || !j["stored"].is_array()) return bad();
  std::vector<std::string> keys;
  for (const auto& e : j["stored"]) {
    keys.push_back(key_of(e));
    if (keys.back().empty()) return bad();
  }
  return keys;
}

Result<std::unique_ptr<OutboxLog>> open_outbox_file(const std::filesystem::path& file) {
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  if (ec) return fail(ErrorCode::kIo, fmt::format("cannot create {}: {}", file.parent_path().string(), ec.message()), "outbox");
  auto log = std::make_unique<FileLog>(file);
  if (auto st = log->open(); !st) return std::unexpected(st.error());
  return std::unique_ptr<OutboxLog>(std::move(log));
}

Result<std::unique_ptr<Outbox>> Outbox::open(std::unique_ptr<OutboxLog> log, OutboxOptions options) {
  auto data = log->read_all();
  if (!data) return std::unexpected(data.error());
  std::unique_ptr<Outbox> box(new Outbox(std::move(log), options));
  const std::string_view in = *data;
  size_t at = 0;
  while (at + kHeader <= in.size()) {
    if (in[at] != 'G' || in[at + 1] != 'W') break;
    const char type = in[at + 2];
    const auto len = static_cast<size_t>(get_u(in, at + 3, 4));
    const auto crc = static_cast<uint32_t>(get_u(in, at + 7, 4));
    if (len > kMaxBody || at + kHeader + len > in.size()) break;
    const std::string_view body = in.substr(at + kHeader, len);
    if (crc_of(type, body) != crc || body.size() < 8) {
      // A whole record damaged in place: skip it, keep the ones after it.
      box->stats_.corrupt_bytes += kHeader + len;
      spdlog::warn("outbox: a record of {} bytes at offset {} fails its checksum; skipped", kHeader + len, at);
      at += kHeader + len;
      continue;
    }
    const uint64_t seq = get_u(body, 0, 8);
    if (type == kAdd) {
      if (body.size() < 11) break;
      OutboxEntry e;
      e.seq = seq;
      e.priority = static_cast<int>(get_u(body, 8, 1));
      const auto topic_len = static_cast<size_t>(get_u(body, 9, 2));
      if (11 + topic_len > body.size()) break;
      e.topic = std::string(body.substr(11, topic_len));
      e.payload = std::string(body.substr(11 + topic_len));
      if (options.confirm) e.key = confirmation_key(e.payload);
      box->stats_.pending_bytes += e.payload.size();
      box->pending_[seq] = std::move(e);
    } else if (type == kSeq) {
      // nothing pending changes; the number below bounds the next one
    } else if (type == kAck || type == kDrop) {
      if (auto it = box->pending_.find(seq); it != box->pending_.end()) {
        box->stats_.pending_bytes -= it->second.payload.size();
        box->pending_.erase(it);
      }
    } else {
      break;
    }
    box->next_seq_ = std::max(box->next_seq_, seq + 1);
    at += kHeader + len;
  }
  box->stats_.log_bytes = in.size();
  box->stats_.recovered = box->pending_.size();
  for (const auto& [seq, e] : box->pending_)
    if (!e.key.empty()) box->by_key_.emplace(e.key, seq);  // the first copy waits, as in add_all
  if (at < in.size() || box->stats_.corrupt_bytes > 0) {
    // A crash in the middle of a write (or a damaged disk): keep what was whole.
    box->stats_.corrupt_bytes += in.size() - at;
    spdlog::warn("outbox: {} bytes of the log are torn or corrupt ({} at the end); the log is rewritten with the "
                 "{} events pending",
                 box->stats_.corrupt_bytes, in.size() - at, box->pending_.size());
    std::lock_guard lock(box->mu_);
    if (auto st = box->rewrite_locked(); !st) return std::unexpected(st.error());
  }
  return box;
}

Status Outbox::rewrite_locked() {
  std::string bytes;
  for (const auto& [seq, e] : pending_) bytes += add_record(e);
  // The highest number used so far, so that numbers are never used twice (also after a restart).
  if (next_seq_ > 1) bytes += seq_record(kSeq, next_seq_ - 1);
  if (auto st = log_->replace(bytes); !st) return st;
  stats_.log_bytes = bytes.size();
  return {};
}

Status Outbox::make_room(uint64_t bytes) {
  while (!pending_.empty() && stats_.pending_bytes + bytes > options_.max_bytes) {
    // The oldest event of the lowest priority goes first.
    auto victim = pending_.begin();
    for (auto it = pending_.begin(); it != pending_.end(); ++it)
      if (it->second.priority > victim->second.priority) victim = it;
    const std::string rec = seq_record(kDrop, victim->first);
    if (auto st = log_->append(rec, false); !st) return st;
    stats_.log_bytes += rec.size();
    spdlog::warn("outbox full ({} bytes pending, limit {}): dropped event {} (priority {}) on {}", stats_.pending_bytes,
                 options_.max_bytes, victim->first, victim->second.priority, victim->second.topic);
    ++stats_.dropped;
    forget_locked(victim);
  }
  return {};
}

Result<uint64_t> Outbox::add(std::string_view topic, std::string_view payload, int priority) {
  auto seqs = add_all({{std::string(topic), std::string(payload), priority}});
  if (!seqs) return std::unexpected(seqs.error());
  return seqs->front();
}

Result<std::vector<uint64_t>> Outbox::add_all(const std::vector<Event>& events) {
  uint64_t bytes = 0;
  for (const Event& ev : events) {
    if (ev.payload.size() > options_.max_bytes)
      return fail(ErrorCode::kTooLarge,
                  fmt::format("event of {} bytes exceeds the outbox's {} bytes", ev.payload.size(), options_.max_bytes),
                  "outbox.max_bytes");
    if (ev.topic.size() > 0xffff) return fail(ErrorCode::kInvalidArgument, "topic too long", "topic");
    if (ev.payload.size() + ev.topic.size() + 11 > kMaxBody)
      return fail(ErrorCode::kTooLarge, fmt::format("event of {} bytes exceeds the outbox's record limit of {} bytes",
                                                    ev.payload.size(), kMaxBody),
                  "payload");
    bytes += ev.payload.size();
  }
  std::lock_guard lock(mu_);
  if (auto st = make_room(std::min(bytes, options_.max_bytes)); !st) return std::unexpected(st.error());
  std::vector<OutboxEntry> entries;
  std::string records;
  for (const Event& ev : events) {
    entries.push_back({.seq = next_seq_ + entries.size(), .priority = std::clamp(ev.priority, 0, 3), .topic = ev.topic,
                       .payload = ev.payload, .key = options_.confirm ? confirmation_key(ev.payload) : std::string()});
    records += add_record(entries.back());
  }
  // One write and one fdatasync for all of them. Their numbers are used up even when the disk
  // refuses (the log undoes a partial write).
  next_seq_ += entries.size();
  if (auto st = log_->append(records, options_.sync); !st) return std::unexpected(st.error());
  stats_.log_bytes += records.size();
  std::vector<uint64_t> seqs;
  for (OutboxEntry& e : entries) {
    stats_.pending_bytes += e.payload.size();
    ++stats_.added;
    seqs.push_back(e.seq);
    // A key already waiting (the same event added twice) stays with its first entry; the second
    // copy is forgotten at its PUBACK, as an event that needs no confirmation.
    if (!e.key.empty()) by_key_.emplace(e.key, e.seq);
    pending_.emplace(e.seq, std::move(e));
  }
  return seqs;
}

void Outbox::forget_locked(std::map<uint64_t, OutboxEntry>::iterator it) {
  if (!it->second.key.empty())
    if (auto k = by_key_.find(it->second.key); k != by_key_.end() && k->second == it->first) by_key_.erase(k);
  stats_.pending_bytes -= it->second.payload.size();
  pending_.erase(it);
}

void Outbox::acknowledge(uint64_t seq, std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = pending_.find(seq);
  if (it == pending_.end()) return;
  ++stats_.acknowledged;
  // Waiting for the center: kept (in memory only; after a restart it is published again).
  if (const auto k = by_key_.find(it->second.key); k != by_key_.end() && k->second == seq) {
    it->second.acked_at = now;
    return;
  }
  // Not synced: if it is lost in a crash the event is published once more, which is harmless.
  const std::string rec = seq_record(kAck, seq);
  if (auto st = log_->append(rec, false); !st) {
    spdlog::warn("outbox: acknowledgement of {} not recorded ({}); it will be published again", seq,
                 st.error().message);
  } else {
    stats_.log_bytes += rec.size();
  }
  forget_locked(it);
}

size_t Outbox::confirm(const std::vector<std::string>& keys) {
  std::lock_guard lock(mu_);
  std::string records;
  size_t n = 0;
  for (const std::string& key : keys) {
    const auto k = by_key_.find(key);
    if (k == by_key_.end()) continue;
    const auto it = pending_.find(k->second);
    records += seq_record(kAck, k->second);
    ++n;
    ++stats_.confirmed;
    forget_locked(it);
  }
  if (records.empty()) return 0;
  // One write for the batch, not synced: lost in a crash, the events are published once more.
  if (auto st = log_->append(records, false); !st)
    spdlog::warn("outbox: confirmations not recorded ({}); {} events will be published again", st.error().message, n);
  else
    stats_.log_bytes += records.size();
  return n;
}

std::vector<OutboxEntry> Outbox::take_unconfirmed(std::chrono::steady_clock::time_point now,
                                                   std::chrono::milliseconds timeout, size_t max) {
  std::lock_guard lock(mu_);
  std::vector<OutboxEntry> out;
  for (auto it = pending_.begin(); it != pending_.end() && out.size() < max; ++it) {
    OutboxEntry& e = it->second;
    if (!e.acked_at || now - *e.acked_at < timeout * (1 << std::min(e.resends, 5))) continue;
    e.acked_at.reset();
    ++e.resends;
    ++stats_.resent;
    out.push_back(e);
  }
  return out;
}

std::vector<OutboxEntry> Outbox::pending_after(uint64_t after, size_t max) const {
  std::lock_guard lock(mu_);
  std::vector<OutboxEntry> out;
  for (auto it = pending_.upper_bound(after); it != pending_.end() && out.size() < max; ++it) out.push_back(it->second);
  return out;
}

OutboxStats Outbox::stats() const {
  std::lock_guard lock(mu_);
  OutboxStats s = stats_;
  s.pending = pending_.size();
  s.unconfirmed = 0;
  for (const auto& [seq, e] : pending_) s.unconfirmed += e.acked_at.has_value();
  return s;
}

Status Outbox::compact_if_worthwhile() {
  std::lock_guard lock(mu_);
  // Worth it when the log is over 1 MiB and pending events are under a quarter of it.
  if (stats_.log_bytes < (1u << 20) || stats_.pending_bytes * 4 > stats_.log_bytes) return {};
  return rewrite_locked();
}

}  // namespace gridwatch::agent
