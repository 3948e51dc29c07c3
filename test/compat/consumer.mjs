// An ES module consumer: the same app through `import`.
import 'reflect-metadata';
import { Module, Controller, Get, Post, Body, HttpCode } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import * as kit from 'nestjs-llm-kit';
import scenario from './scenario.cjs';

await scenario.boot({ Module, Controller, Get, Post, Body, HttpCode, NestFactory }, kit, 'esm');
