import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { TemplateChannel } from '@platform/contracts';

@Entity({ name: 'templates' })
export class TemplateEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column({ type: 'text', unique: true }) name!: string;
  @Column({ type: 'text' }) channel!: TemplateChannel;
  @Column({ type: 'text' }) subject!: string;
  @Column({ type: 'text' }) body!: string;
  @Column({ type: 'integer' }) revision!: number;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
