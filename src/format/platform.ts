/** The inbox platform's webhook events (`newMessage` and anything carrying a conversation/Channel). */

export interface PlatformParts {
  /** "WHATSAPP · Channel name" */
  channel?: string;
  sender?: string;
  /** The sender is an agent of the business (`authUser: true`), not the customer. */
  agent?: boolean;
  /** Text content, or "[image] https://…" for media. */
  content?: string;
  /** "conv bf9d96d9 · in-queue" */
  context?: string;
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

const MEDIA: Record<string, string> = {
  IMAGE: 'imageUrl',
  VIDEO: 'videoUrl',
  DOCUMENT: 'documentUrl',
  AUDIO: 'audioUrl',
};

function messageContent(message: Obj): string | undefined {
  const type = (str(message.contentType) ?? 'TEXT').toUpperCase();
  const text = str(message.content);
  const field = MEDIA[type];
  let media: string | undefined;
  if (field) media = `[${type.toLowerCase()}] ${str(message[field]) ?? '(no url)'}`;
  else if (type !== 'TEXT') {
    const url = str(message.imageUrl) ?? str(message.videoUrl) ?? str(message.documentUrl) ?? str(message.audioUrl);
    media = `[${type.toLowerCase()}]${url ? ' ' + url : ''}`;
  }
  const quoted = message.quoted_message_id != null ? '↩ ' : '';
  if (media) return quoted + (text ? `${media} "${text}"` : media);
  return text !== undefined ? `${quoted}"${text}"` : undefined;
}

/** Reads the platform's shape out of a parsed body; null when the body is not one of its events. */
export function platformParts(body: unknown): PlatformParts | null {
  if (!isObj(body)) return null;
  const message = isObj(body.message) ? body.message : undefined;
  const conversation = isObj(body.conversation) ? body.conversation : undefined;
  const channel = conversation && isObj(conversation.Channel) ? conversation.Channel : undefined;
  if (!message && !channel) return null;
  if (!message && body.event === undefined) return null;

  const parts: PlatformParts = {};
  if (channel) {
    const medium = str(channel.medium);
    const name = str(channel.name) ?? str(channel.description) ?? str(channel.identifier);
    parts.channel = [medium, name].filter(Boolean).join(' · ') || undefined;
  }
  if (message) {
    const sender = isObj(message.sender) ? message.sender : undefined;
    parts.sender = str(sender?.name) ?? (sender ? 'unknown sender' : undefined);
    parts.agent = sender?.authUser === true;
    parts.content = messageContent(message);
  }
  const convId = str(conversation?.id) ?? str(message?.conversation_id);
  const status = str(conversation?.status);
  const ctx = [convId ? `conv ${convId.slice(0, 8)}` : undefined, status].filter(Boolean).join(' · ');
  if (ctx) parts.context = ctx;
  return parts;
}
