/*
 * raw_ethernet.node on systems without AF_PACKET (anything but Linux): the same exports, each of
 * which throws an Error with code ENOTSUP, so installing the workspace works everywhere and only
 * opening an L2 link fails, with a clear message.
 */
#define NAPI_VERSION 8
#include <node_api.h>

static napi_value unsupported(napi_env env, napi_callback_info info) {
  (void)info;
  napi_throw_error(env, "ENOTSUP", "raw Ethernet (AF_PACKET) sockets exist only on Linux");
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value cls, fn;
  napi_define_class(env, "PacketSocket", NAPI_AUTO_LENGTH, unsupported, NULL, 0, NULL, &cls);
  napi_set_named_property(env, exports, "PacketSocket", cls);
  napi_create_function(env, "interfaceInfo", NAPI_AUTO_LENGTH, unsupported, NULL, &fn);
  napi_set_named_property(env, exports, "interfaceInfo", fn);
  return exports;
}
