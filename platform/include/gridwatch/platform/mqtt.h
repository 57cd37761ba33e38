// MQTT client on Paho C++ (async), with the two rules every gridwatch process follows:
// nothing blocks inside Paho's callbacks (handlers given here run on Paho's single receive
// thread and must only hand work to a queue), and subscriptions survive reconnects (they are
// re-sent whenever the connection comes back).
//
// Publisher is the small interface that agents and the center publish through, so that a test
// can substitute a publisher that drops or fails. MqttClient is thread-safe: publish() may be
// called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gridwatch/domain/config.h"
#include "gridwatch/domain/error.h"

namespace mqtt {
class async_client;
class connect_options;
}

namespace gridwatch::platform {

class Publisher {
 public:
  virtual ~Publisher() = default;
  // Queues a message for delivery; does not wait for the broker. Fails with kUnavailable when
  // the client's offline buffer is full, kInvalidArgument for a bad topic.
  [[nodiscard]] virtual Status publish(const std::string& topic, const std::string& payload,
                                       int qos, bool retained) = 0;
};

// A QoS 1 message on its way: the broker's acknowledgement (PUBACK) can be awaited, so that a
// durable outbox forgets a message only once the broker has it.
class Delivery {
 public:
  enum class State { kPending, kAcknowledged, kFailed };
  virtual ~Delivery() = default;
  // Waits up to `timeout` for the outcome (0: just looks).
  virtual State wait(std::chrono::milliseconds timeout) = 0;
};

struct MqttOptions {
  std::string url;        // tcp://host:port
  // Other brokers (nodes of one cluster) tried in turn after `url`, at the first connect and at
  // every reconnect (Paho's server URIs); all of the same kind as `url` (TLS or not).
  std::vector<std::string> failover_urls;
  std::string client_id;  // unique per connection
  bool clean_session = true;
  std::chrono::seconds keepalive{20};
  // Unacknowledged QoS 1 messages in flight. Small windows throttle QoS 1 to a crawl over a
  // round trip; 1000 keeps a burst moving.
  int max_inflight = 1000;
  int max_buffered = 10000;  // messages kept while offline
  // Keep messages published while disconnected and send them on reconnect. Off for a client whose
  // publisher keeps its own store (the agent's outbox): such messages would overtake its resend.
  bool buffer_while_disconnected = true;
  std::string username;
  std::string password;
  // TLS, for an ssl:// URL: the CA that signed the broker's certificate, and optionally this
  // client's certificate and key (PEM files). The broker's certificate is always verified: its
  // chain and that it names the URL's host.
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  // Last will: published by the broker, retained, QoS 1, if the connection dies.
  std::optional<std::pair<std::string, std::string>> will;
};

struct MqttMessage {
  std::string topic;
  std::string payload;
  int qos = 0;
  bool retained = false;
  // A delivery the broker waits to have acknowledged once the message is kept (AmqpClient::ack);
  // 0: none (MQTT acknowledges on receipt).
  uint64_t delivery = 0;
};

// Config readers shared by every process that talks MQTT (key `url` and `topic_prefix` of a
// `broker` section). They refuse, with file, line and key, what the client or the topic scheme
// cannot use: a URL that is not tcp:// or mqtt://, a prefix with wildcards or a trailing '/'.
std::string read_broker_url(const ConfigNode& broker, std::string_view fallback);
// `failover_urls`: other nodes of the broker tried in turn after `url`, of the same kind (TLS or
// not); [] when absent.
std::vector<std::string> read_broker_failover(const ConfigNode& broker, const std::string& url);
std::string read_topic_prefix(const ConfigNode& broker, std::string_view fallback);
// `tls:` under a broker section: {ca_file, cert_file, key_file}, PEM files relative to the config
// file. Required (ca_file) with an ssl:// url, refused without one; cert and key go together.
struct BrokerTls {
  std::string ca_file, cert_file, key_file;
  bool operator==(const BrokerTls&) const = default;
};
BrokerTls read_broker_tls(const ConfigNode& broker, const std::string& url);

class MqttClient final : public Publisher {
 public:
  using MessageHandler = std::function<void(MqttMessage)>;
  using ConnectionHandler = std::function<void(bool connected)>;

  [[nodiscard]] static Result<std::unique_ptr<MqttClient>> create(MqttOptions options);
  ~MqttClient() override;

  // Set before connect(). Both run on Paho's thread: hand work off, never block.
  // on_connection(true) runs once the broker has answered every subscription of this
  // connection (granted or refused: subscription_status() tells which), so a client that
  // announces itself there is ready to receive what it was granted.
  void on_message(MessageHandler handler);
  void on_connection(ConnectionHandler handler);
  // Remembered and (re)subscribed on every connect. Before connect() it returns ok at once (the
  // broker's answer is connect()'s to report); while connected it subscribes now and waits up
  // to 10 s for the answer: kDenied when the broker refused the filter (a SUBACK failure code,
  // e.g. its ACL), kUnavailable when it did not answer. Call from a normal thread.
  [[nodiscard]] Status subscribe(std::string filter, int qos);

  // Connects, waiting up to `timeout` for the first connection and the broker's answer to the
  // subscriptions; afterwards the client reconnects by itself (1 s to 30 s back-off) and
  // subscribes again. kUnavailable when no connection could be made; kDenied, naming the
  // filters, when the connection stands but the broker refused a subscription (the client stays
  // connected and tries the subscriptions again on every reconnect). Call from a normal thread,
  // not a callback.
  [[nodiscard]] Status connect(std::chrono::milliseconds timeout);
  bool connected() const;
  // The broker's answer to this connection's subscriptions: ok when every one was granted (or
  // there are none), kDenied naming the refused filters, kUnavailable while not connected or
  // not answered yet.
  Status subscription_status() const;
  Status publish(const std::string& topic, const std::string& payload, int qos,
                 bool retained) override;
  // Publishes at QoS 1 without waiting; the Delivery tells when the broker acknowledged it.
  // kUnavailable when the client cannot take it now (not connected, buffer full).
  [[nodiscard]] Result<std::unique_ptr<Delivery>> publish_tracked(const std::string& topic, const std::string& payload);
  // Publishes and waits for the broker's acknowledgement (QoS 1) up to `timeout`.
  [[nodiscard]] Status publish_and_wait(const std::string& topic, const std::string& payload,
                                        int qos, bool retained, std::chrono::milliseconds timeout);
  // Clean disconnect (no last will). Waits up to `timeout`.
  void disconnect(std::chrono::milliseconds timeout);

 private:
  explicit MqttClient(MqttOptions options);
  void resubscribe();
  void notify_connection(bool up);
  // Records the broker's answer to the subscriptions of this connection (empty: all granted).
  void set_subscription_answer(std::vector<std::string> refused, std::string reason);
  class SubscribeListener;
  // With failover_urls: reconnects by connecting again, which walks the list from its start.
  // Paho's own automatic reconnect retries only the node it was last on (paho.mqtt.c #1661).
  void failover_loop();
  void stop_failover();

  MqttOptions options_;
  std::unique_ptr<SubscribeListener> subscribe_listener_;
  std::unique_ptr<mqtt::async_client> client_;
  std::mutex mu_;
  std::vector<std::pair<std::string, int>> subscriptions_;
  MessageHandler message_handler_;
  ConnectionHandler connection_handler_;
  std::atomic<bool> connected_{false};
  // The answer to the subscriptions sent at the last connect, guarded by sub_mu_.
  enum class SubscriptionState { kPending, kGranted, kRefused };
  mutable std::mutex sub_mu_;
  std::condition_variable sub_cv_;
  SubscriptionState sub_state_ = SubscriptionState::kPending;
  std::vector<std::string> sent_filters_;  // in the order of the last SUBSCRIBE
  std::string refused_;                    // "filter (reason), ..." when kRefused
  // The failover reconnect (failover_urls only), guarded by failover_mu_.
  std::mutex failover_mu_;
  std::condition_variable failover_cv_;
  bool failover_lost_ = false, failover_stop_ = false;
  std::unique_ptr<mqtt::connect_options> connect_options_;
  std::thread failover_thread_;
};

}  // namespace gridwatch::platform
