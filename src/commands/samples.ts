import { randomUUID } from 'node:crypto';

/** Realistic events of the inbox platform, in the full shape of its webhook page, with fresh ids and times. */

export type ContentType = 'TEXT' | 'IMAGE' | 'VIDEO' | 'DOCUMENT' | 'AUDIO';
export const CONTENT_TYPES: ContentType[] = ['TEXT', 'IMAGE', 'VIDEO', 'DOCUMENT', 'AUDIO'];

/** Where a sample comes in: the platform's mediums, with names a real inbox would give its channels. */
export interface SampleChannel {
  medium: string;
  name: string;
  description: string;
  identifier: string;
}

const CHANNELS: Record<string, SampleChannel> = {
  whatsapp: { medium: 'WHATSAPP', name: 'Acme Support NG', description: 'Whatsapp Channel', identifier: '+234 803 555 0142' },
  instagram: { medium: 'INSTAGRAM', name: 'acme.shop', description: 'Instagram Channel', identifier: '@acme.shop' },
  email: { medium: 'EMAIL', name: 'help@acme.example', description: 'Email Channel', identifier: 'help@acme.example' },
  webchat: { medium: 'WEBCHAT', name: 'acme.example live chat', description: 'Web chat Channel', identifier: 'acme.example' },
};

export interface MessageOptions {
  contentType?: ContentType;
  /** Which channel it came through (WhatsApp unless said). */
  channel?: keyof typeof CHANNELS;
  /** The message comes from an agent of the business (`authUser: true`) instead of the customer. */
  agent?: boolean;
}

const MEDIA: Record<Exclude<ContentType, 'TEXT'>, { field: string; url: string; caption: string | null }> = {
  IMAGE: { field: 'imageUrl', url: 'https://media.example.com/uploads/receipt-4821.jpg', caption: 'Here is my receipt' },
  VIDEO: { field: 'videoUrl', url: 'https://media.example.com/uploads/unboxing.mp4', caption: 'The box arrived like this' },
  DOCUMENT: { field: 'documentUrl', url: 'https://media.example.com/uploads/invoice-INV-2291.pdf', caption: 'invoice-INV-2291.pdf' },
  AUDIO: { field: 'audioUrl', url: 'https://media.example.com/uploads/voice-note.ogg', caption: null },
};

/** A `newMessage` event as the platform posts it. */
export function newMessage(options: MessageOptions = {}): Record<string, unknown> {
  const contentType = options.contentType ?? 'TEXT';
  const now = Date.now();
  const iso = (msAgo: number): string => new Date(now - msAgo).toISOString();
  const conversationId = randomUUID();
  const media = contentType === 'TEXT' ? undefined : MEDIA[contentType];
  const channel = CHANNELS[options.channel ?? 'whatsapp']!;
  const message: Record<string, unknown> = {
    sender: options.agent
      ? { name: 'Ada (Support)', authUser: true, lastActivity: iso(0) }
      : { name: 'Chidi Okafor', authUser: false, lastActivity: iso(0) },
    externalId: options.agent ? null : `wamid.${randomUUID().replace(/-/g, '').slice(0, 24).toUpperCase()}`,
    content: media ? media.caption : options.agent ? 'Thanks for reaching out! Your order ships today.' : 'Hello, is my order on its way?',
    contentType,
    imageUrl: null,
    videoUrl: null,
    documentUrl: null,
    audioUrl: null,
    quoted_message_id: null,
    conversation_id: conversationId,
  };
  if (media) message[media.field] = media.url;
  return {
    event: 'newMessage',
    message,
    conversation: {
      id: conversationId,
      subject: null,
      agent: options.agent ? { name: 'Ada (Support)' } : null,
      customer: { name: 'Chidi Okafor', email: '' },
      lastMessageAt: iso(0),
      status: options.agent ? 'open' : 'in-queue',
      country: 'NG',
      read: false,
      createdAt: iso(9 * 60_000),
      updatedAt: iso(0),
      agent_id: options.agent ? randomUUID() : null,
      Channel: {
        id: randomUUID(),
        phone: null,
        identifier: channel.identifier,
        medium: channel.medium,
        credentials: null,
        description: channel.description,
        name: channel.name,
        type: 'CUSTOM',
        provider: null,
        country: 'NG',
        env: 'LIVE',
        status: 'ACTIVE',
        webhookUrl: 'https://webhook.url',
      },
    },
  };
}

export interface SampleKind {
  name: string;
  description: string;
  options: MessageOptions;
}

/** What `send` can send: the event name, and shortcuts for each content type and sender. */
export const SAMPLE_KINDS: SampleKind[] = [
  { name: 'newMessage', description: 'a text message from a customer on WhatsApp', options: {} },
  { name: 'image', description: 'newMessage with contentType IMAGE (imageUrl and a caption), on Instagram', options: { contentType: 'IMAGE', channel: 'instagram' } },
  { name: 'video', description: 'newMessage with contentType VIDEO, on WhatsApp', options: { contentType: 'VIDEO' } },
  { name: 'document', description: 'newMessage with contentType DOCUMENT (a PDF), by email', options: { contentType: 'DOCUMENT', channel: 'email' } },
  { name: 'audio', description: 'newMessage with contentType AUDIO (a voice note), on WhatsApp', options: { contentType: 'AUDIO' } },
  { name: 'agent', description: 'newMessage sent by an agent (sender.authUser: true), in the web chat', options: { agent: true, channel: 'webchat' } },
];
