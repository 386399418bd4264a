// Sketch: a Flutter host that owns the sockets for an sdk-realtime client running in a WebView.
// The page uses channelTransport(textPort(...)) from 'sdk-realtime/channel' (docs/channel.md).
// Packages: webview_flutter, web_socket_channel.
import 'dart:async';
import 'dart:convert';

import 'package:web_socket_channel/web_socket_channel.dart';
import 'package:webview_flutter/webview_flutter.dart';

class RealtimeBridge {
  RealtimeBridge(this.controller, {this.allow = _anyWs, this.maxConnections = 16}) {
    controller.addJavaScriptChannel('SdkRealtime', onMessageReceived: (m) => _onEnvelope(m.message));
  }

  final WebViewController controller;
  final bool Function(String url) allow;
  final int maxConnections;
  final Map<String, WebSocketChannel> sockets = {};
  final Map<String, StreamSubscription> _subs = {};

  static bool _anyWs(String url) => url.startsWith('ws://') || url.startsWith('wss://');

  void _onEnvelope(String text) {
    final Map<String, dynamic> e;
    try {
      e = jsonDecode(text) as Map<String, dynamic>;
    } catch (_) {
      return;
    }
    if (e['ch'] != 'sdk-realtime' || e['v'] != 1 || e['id'] is! String) return;
    final id = e['id'] as String;
    switch (e['type']) {
      case 'open':
        _open(id, e['url'] as String? ?? '');
      case 'send':
        final data = e['data'];
        if (data is String) sockets[id]?.sink.add(data);
      case 'close':
        sockets[id]?.sink.close(e['code'] as int? ?? 1000, e['reason'] as String?);
    }
  }

  void _open(String id, String url) {
    if (sockets.containsKey(id)) return;
    if (!allow(url)) return _post({'type': 'closed', 'id': id, 'code': 1008, 'reason': 'url not allowed'});
    if (sockets.length >= maxConnections) {
      return _post({'type': 'closed', 'id': id, 'code': 1013, 'reason': 'too many connections'});
    }
    final ws = WebSocketChannel.connect(Uri.parse(url));
    sockets[id] = ws;
    var ended = false;
    void end(int code, String reason) {
      if (ended) return;
      ended = true;
      sockets.remove(id);
      _subs.remove(id)?.cancel();
      _post({'type': 'closed', 'id': id, 'code': code, 'reason': reason});
    }

    ws.ready.then((_) => _post({'type': 'opened', 'id': id}), onError: (Object err) {
      _post({'type': 'error', 'id': id, 'reason': '$err'});
      end(1006, '$err');
    });
    _subs[id] = ws.stream.listen(
      (data) => _post({'type': 'message', 'id': id, 'data': data is String ? data : utf8.decode(data as List<int>)}),
      onError: (Object err) => _post({'type': 'error', 'id': id, 'reason': '$err'}),
      onDone: () => end(ws.closeCode ?? 1006, ws.closeReason ?? ''),
    );
  }

  /// Deliver an envelope to the page: window.sdkRealtimeReceive(<json>).
  void _post(Map<String, dynamic> e) {
    final envelope = {'v': 1, 'ch': 'sdk-realtime', ...e};
    controller.runJavaScript('window.sdkRealtimeReceive(${jsonEncode(jsonEncode(envelope))})');
  }

  /// Close every socket (the WebView is going away).
  void dispose() {
    for (final ws in sockets.values) {
      ws.sink.close(1001, 'host closed');
    }
  }
}
