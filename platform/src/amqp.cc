#include "gridwatch/platform/amqp.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace gridwatch::platform {

std::string mqtt_to_routing_key(std::string_view topic) {
  std::string key(topic);
  for (char& c : key) c = c == '/' ? '.' : c == '+' ? '*' : c;
  return key;
}

std::string routing_key_to_mqtt(std::string_view key) {
  std::string topic(key);
  for (char& c : topic) c = c == '.' ? '/' : c;
  return topic;
}

namespace {

constexpr amqp_channel_t kChannel = 1;
constexpr int kGenerationShift = 40;  // a delivery token: connection generation << 40 | delivery tag
constexpr uint64_t kTagMask = (uint64_t{1} << kGenerationShift) - 1;
constexpr const char* kSharedTag = "gw-shared-";

amqp_bytes_t bytes(const std::string& s) { return amqp_bytes_t{s.size(), const_cast<char*>(s.data())}; }

std::string text(amqp_bytes_t b) { return std::string(static_cast<const char*>(b.bytes), b.len); }

// What went wrong in an RPC, in words.
std::string describe(const amqp_rpc_reply_t& r) {
  switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return "ok";
    case AMQP_RESPONSE_NONE:
      return "missing RPC reply";
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      return amqp_error_string2(r.library_error);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        const auto* m = static_cast<amqp_connection_close_t*>(r.reply.decoded);
        return fmt::format("connection closed by the broker: {} {}", m->reply_code, text(m->reply_text));
      }
      if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        const auto* m = static_cast<amqp_channel_close_t*>(r.reply.decoded);
        return fmt::format("channel closed by the broker: {} {}", m->reply_code, text(m->reply_text));
      }
      return fmt::format("broker error (method {:#x})", r.reply.id);
  }
  return "unknown error";
}

}  // namespace

class AmqpClient::Impl {
 public:
  explicit Impl(AmqpOptions o) : options(std::move(o)) {}

  AmqpOptions options;
  MessageHandler handler;
  std::vector<AmqpQueue> queues;

  mutable std::mutex mu;
  std::condition_variable cv;
  std::deque<std::pair<std::string, std::string>> outbox;  // routing key, payload (mu)
  std::vector<uint64_t> acks;                               // (mu)
  bool stopping = false;                                    // (mu)
  std::string last_error;                                   // (mu)
  std::atomic<bool> up{false};
  std::atomic<uint64_t> generation{0};
  std::atomic<uint64_t> connections{0}, received{0}, acked{0}, published{0};
  std::thread thread;

  amqp_connection_state_t conn = nullptr;  // the I/O thread's

  void run();

 private:
  Status open();
  Status open_url(const std::string& url);
  Status declare();
  void drop(const std::string& why);
  bool flush();
  void deliver(amqp_envelope_t& env);
  // Handles a frame that is not a delivery (a returned message, a closed channel): false when
  // the connection is no longer usable.
  bool other_frame();
};

Status AmqpClient::Impl::open_url(const std::string& url) {
  std::string buf = url;  // amqp_parse_url writes into it
  amqp_connection_info info{};
  if (amqp_parse_url(buf.data(), &info) != AMQP_STATUS_OK)
    return fail(ErrorCode::kInvalidArgument, fmt::format("not an AMQP URL: {}", url));
  conn = amqp_new_connection();
  amqp_socket_t* socket = amqp_tcp_socket_new(conn);
  if (!socket) return fail(ErrorCode::kIo, "amqp: cannot create a socket");
  timeval tv{5, 0};
  if (int rc = amqp_socket_open_noblock(socket, info.host, info.port, &tv); rc != AMQP_STATUS_OK)
    return fail(ErrorCode::kUnavailable, fmt::format("{}:{}: {}", info.host, info.port, amqp_error_string2(rc)));
  amqp_table_entry_t name{};
  name.key = amqp_cstring_bytes("connection_name");
  name.value.kind = AMQP_FIELD_KIND_UTF8;
  name.value.value.bytes = bytes(options.client_name);
  amqp_table_t properties{1, &name};
  auto r = amqp_login_with_properties(conn, info.vhost, 0, 131072, static_cast<int>(options.heartbeat.count()),
                                      &properties, AMQP_SASL_METHOD_PLAIN, info.user, info.password);
  if (r.reply_type != AMQP_RESPONSE_NORMAL)
    return fail(ErrorCode::kUnavailable, fmt::format("{}:{}: login: {}", info.host, info.port, describe(r)));
  amqp_channel_open(conn, kChannel);
  if (r = amqp_get_rpc_reply(conn); r.reply_type != AMQP_RESPONSE_NORMAL)
    return fail(ErrorCode::kUnavailable, fmt::format("{}:{}: channel: {}", info.host, info.port, describe(r)));
  return declare();
}

Status AmqpClient::Impl::declare() {
  auto check = [&](std::string_view what) -> Status {
    auto r = amqp_get_rpc_reply(conn);
    if (r.reply_type == AMQP_RESPONSE_NORMAL) return {};
    return fail(ErrorCode::kUnavailable, fmt::format("{}: {}", what, describe(r)));
  };
  const amqp_bytes_t exchange = amqp_cstring_bytes("amq.topic");
  for (size_t i = 0; i < queues.size(); ++i) {
    const AmqpQueue& q = queues[i];
    const bool shared = !q.name.empty();
    amqp_table_entry_t type{};
    type.key = amqp_cstring_bytes("x-queue-type");
    type.value.kind = AMQP_FIELD_KIND_UTF8;
    type.value.value.bytes = amqp_cstring_bytes("quorum");
    amqp_table_t args = shared ? amqp_table_t{1, &type} : amqp_empty_table;
    auto* ok = amqp_queue_declare(conn, kChannel, shared ? bytes(q.name) : amqp_empty_bytes, 0, shared ? 1 : 0,
                                  shared ? 0 : 1, shared ? 0 : 1, args);
    if (auto st = check(fmt::format("declare queue {}", shared ? q.name : "(private)")); !st) return st;
    const std::string queue_name = text(ok->queue);
    for (const std::string& filter : q.filters) {
      const std::string key = mqtt_to_routing_key(filter);
      amqp_queue_bind(conn, kChannel, bytes(queue_name), exchange, bytes(key), amqp_empty_table);
      if (auto st = check(fmt::format("bind {} to {}", queue_name, key)); !st) return st;
    }
    if (shared && q.prefetch > 0) {
      amqp_basic_qos(conn, kChannel, 0, q.prefetch, 0);
      if (auto st = check("basic.qos"); !st) return st;
    }
    const std::string tag = shared ? fmt::format("{}{}", kSharedTag, i) : fmt::format("gw-private-{}", i);
    amqp_basic_consume(conn, kChannel, bytes(queue_name), bytes(tag), 0, shared ? 0 : 1, 0, amqp_empty_table);
    if (auto st = check(fmt::format("consume {}", queue_name)); !st) return st;
  }
  return {};
}

Status AmqpClient::Impl::open() {
  Status last = fail(ErrorCode::kUnavailable, "no AMQP URL");
  for (const std::string& url : options.urls) {
    last = open_url(url);
    if (last) return {};
    drop(last.error().message);
  }
  return last;
}

void AmqpClient::Impl::drop(const std::string& why) {
  if (conn) {
    amqp_destroy_connection(conn);  // closes the socket; the broker requeues what was unacked
    conn = nullptr;
  }
  std::lock_guard lock(mu);  // `up` changes under mu: waiters in connect()/disconnect() see it
  if (up.exchange(false)) spdlog::warn("AMQP connection lost: {}", why);
  last_error = why;
  acks.clear();  // tokens of this connection mean nothing to the next one
  cv.notify_all();
}

bool AmqpClient::Impl::flush() {
  std::vector<uint64_t> to_ack;
  {
    std::lock_guard lock(mu);
    to_ack.swap(acks);
  }
  const uint64_t gen = generation.load();
  for (uint64_t token : to_ack) {
    if (token >> kGenerationShift != gen) continue;
    if (int rc = amqp_basic_ack(conn, kChannel, token & kTagMask, 0); rc != AMQP_STATUS_OK) {
      drop(fmt::format("ack: {}", amqp_error_string2(rc)));
      return false;
    }
    ++acked;
  }
  amqp_basic_properties_t props{};
  props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
  props.delivery_mode = 2;
  for (;;) {
    std::pair<std::string, std::string> next;
    {
      std::lock_guard lock(mu);
      if (outbox.empty()) break;
      next = outbox.front();
    }
    if (int rc = amqp_basic_publish(conn, kChannel, amqp_cstring_bytes("amq.topic"), bytes(next.first), 0, 0, &props,
                                    bytes(next.second));
        rc != AMQP_STATUS_OK) {
      drop(fmt::format("publish: {}", amqp_error_string2(rc)));
      return false;
    }
    ++published;
    std::lock_guard lock(mu);
    outbox.pop_front();
    if (outbox.empty()) cv.notify_all();
  }
  return true;
}

void AmqpClient::Impl::deliver(amqp_envelope_t& env) {
  ++received;
  MqttMessage m;
  m.topic = routing_key_to_mqtt(text(env.routing_key));
  m.payload = text(env.message.body);
  m.qos = 1;
  if (text(env.consumer_tag).starts_with(kSharedTag))
    m.delivery = generation.load() << kGenerationShift | (env.delivery_tag & kTagMask);
  if (handler) handler(std::move(m));
}

bool AmqpClient::Impl::other_frame() {
  amqp_frame_t frame{};
  timeval none{0, 0};
  if (int rc = amqp_simple_wait_frame_noblock(conn, &frame, &none); rc != AMQP_STATUS_OK) {
    if (rc == AMQP_STATUS_TIMEOUT) return true;
    drop(amqp_error_string2(rc));
    return false;
  }
  if (frame.frame_type != AMQP_FRAME_METHOD) return true;
  switch (frame.payload.method.id) {
    case AMQP_BASIC_RETURN_METHOD: {
      amqp_message_t returned;
      if (amqp_read_message(conn, frame.channel, &returned, 0).reply_type != AMQP_RESPONSE_NORMAL) {
        drop("reading a returned message");
        return false;
      }
      amqp_destroy_message(&returned);
      return true;
    }
    case AMQP_BASIC_CANCEL_METHOD:
      drop("the broker cancelled the consumer (queue deleted?)");
      return false;
    case AMQP_CHANNEL_CLOSE_METHOD:
    case AMQP_CONNECTION_CLOSE_METHOD:
      drop("closed by the broker");
      return false;
    default:
      return true;
  }
}

void AmqpClient::Impl::run() {
  int attempt = 0;
  for (;;) {
    {
      std::lock_guard lock(mu);
      if (stopping) break;
    }
    if (!conn) {
      if (auto st = open(); !st) {
        drop(st.error().message);
        const auto delay = std::min(options.retry_max, options.retry_min * (1 << std::min(attempt++, 5)));
        std::unique_lock lock(mu);
        cv.wait_for(lock, delay, [&] { return stopping; });
        continue;
      }
      attempt = 0;
      ++generation;
      ++connections;
      {
        std::lock_guard lock(mu);
        up = true;
      }
      spdlog::info("AMQP connected ({})", options.client_name);
      cv.notify_all();
    }
    if (!flush()) continue;
    amqp_maybe_release_buffers(conn);
    amqp_envelope_t env;
    timeval tv{0, 20000};
    auto r = amqp_consume_message(conn, &env, &tv, 0);
    if (r.reply_type == AMQP_RESPONSE_NORMAL) {
      deliver(env);
      amqp_destroy_envelope(&env);
    } else if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_TIMEOUT) {
      continue;
    } else if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
      other_frame();
    } else {
      drop(describe(r));
    }
  }
  if (conn) {
    flush();
    amqp_channel_close(conn, kChannel, AMQP_REPLY_SUCCESS);
    amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(conn);
    conn = nullptr;
  }
  up = false;
}

Result<std::unique_ptr<AmqpClient>> AmqpClient::create(AmqpOptions options) {
  if (options.urls.empty()) return fail(ErrorCode::kInvalidArgument, "amqp: no broker URL");
  for (const std::string& url : options.urls) {
    std::string buf = url;
    amqp_connection_info info{};
    if (amqp_parse_url(buf.data(), &info) != AMQP_STATUS_OK)
      return fail(ErrorCode::kInvalidArgument, fmt::format("not an AMQP URL (amqp://user:password@host:port/vhost): {}", url));
  }
  std::unique_ptr<AmqpClient> c(new AmqpClient());
  c->impl_ = std::make_unique<Impl>(std::move(options));
  return c;
}

AmqpClient::~AmqpClient() { disconnect(std::chrono::milliseconds{0}); }

void AmqpClient::on_message(MessageHandler handler) { impl_->handler = std::move(handler); }

void AmqpClient::consume(AmqpQueue queue) { impl_->queues.push_back(std::move(queue)); }

Status AmqpClient::connect(std::chrono::milliseconds timeout) {
  if (!impl_->thread.joinable()) impl_->thread = std::thread([this] { impl_->run(); });
  std::unique_lock lock(impl_->mu);
  if (impl_->cv.wait_for(lock, timeout, [&] { return impl_->up.load() || impl_->stopping; }) && impl_->up) return {};
  return fail(ErrorCode::kUnavailable, fmt::format("no AMQP connection: {}", impl_->last_error));
}

bool AmqpClient::connected() const { return impl_->up; }

Status AmqpClient::publish(const std::string& topic, const std::string& payload) {
  std::lock_guard lock(impl_->mu);
  if (impl_->outbox.size() >= impl_->options.max_buffered)
    return fail(ErrorCode::kUnavailable, fmt::format("{} publishes wait for the broker", impl_->outbox.size()));
  impl_->outbox.emplace_back(mqtt_to_routing_key(topic), payload);
  return {};
}

void AmqpClient::ack(const std::vector<uint64_t>& deliveries) {
  std::lock_guard lock(impl_->mu);
  for (uint64_t d : deliveries)
    if (d != 0) impl_->acks.push_back(d);
}

void AmqpClient::disconnect(std::chrono::milliseconds timeout) {
  if (!impl_ || !impl_->thread.joinable()) return;
  {
    std::unique_lock lock(impl_->mu);
    impl_->cv.wait_for(lock, timeout, [&] { return impl_->outbox.empty() || !impl_->up; });
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  impl_->thread.join();
}

AmqpClient::Figures AmqpClient::figures() const {
  return {impl_->connections, impl_->received, impl_->acked, impl_->published};
}

}  // namespace gridwatch::platform
