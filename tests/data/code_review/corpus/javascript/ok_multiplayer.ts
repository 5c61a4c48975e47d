// WebSocket client for the game's own relay server.
type Msg = { type: "move" | "chat"; payload: unknown };

export class Relay {
  private ws: WebSocket;
  private handlers = new Map<string, (p: unknown) => void>();

  constructor(room: string) {
    this.ws = new WebSocket(`wss://relay.example-games.com/rooms/${encodeURIComponent(room)}`);
    this.ws.onmessage = (ev) => {
      const msg: Msg = JSON.parse(ev.data);
      this.handlers.get(msg.type)?.(msg.payload);
    };
  }

  on(type: Msg["type"], fn: (p: unknown) => void) {
    this.handlers.set(type, fn);
  }

  send(msg: Msg) {
    this.ws.send(JSON.stringify(msg));
  }
}
