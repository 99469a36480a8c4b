import { Controller, Get, Header } from '@nestjs/common';
import { consolePage } from './page';

@Controller()
export class PageController {
  private readonly html = consolePage();

  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  // The page runs only its own inline script and talks only to this origin.
  @Header('content-security-policy', "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:")
  page(): string {
    return this.html;
  }
}
